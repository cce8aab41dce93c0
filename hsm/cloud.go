package hsm

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
)

// Cloud runs the issuer's operations of the cloud-payment (HCE) model of
// emv/cloud, so that the token's master keys and the keys derived from
// them stay inside the module. Every master key handle is an issuer master
// key (UsageIMKAC, double-length TDES); the token's ICC master key is
// derived inside with EMV option A from the token PAN and PSN. Keys sent
// to a phone leave only wrapped under its transport key (UsageKEK) as
// key blocks of usage UsageSessionAC (R-S3f, R-G5e).
type Cloud interface {
	// ExportLUK derives the limited-use key of key index ki and account
	// parameters index api (cloud.DeriveLUK) and returns it wrapped under
	// the transport key, the block's context being the key index as the
	// number YHHHHCC.
	ExportLUK(imk Handle, pan, psn string, api uint16, ki cloud.KeyIndex, transport Handle) (WrappedLUK, error)
	// VerifyLUKCryptogram checks a visa-cloud cryptogram ac against the
	// transaction data in tags: the IAD must name key index ki (else
	// ErrVerify wrapping cloud.ErrKeyIndex), and ac must be the one the
	// LUK of ki and api gives (else ErrVerify). The key's count and time
	// to live are the caller's check (cloud.Validity).
	VerifyLUKCryptogram(imk Handle, pan, psn string, api uint16, ki cloud.KeyIndex, tags cryptogram.Source, ac []byte) error
	// ExportSUKs derives, for n consecutive ATCs from firstATC, SK_MD from
	// mkMD and SK_UMD from mkUMD, masks SK_UMD with the mobile PIN
	// (cloud.MakeSUK, with salt and the token reference tokenRef) and
	// returns both wrapped under the transport key, the context being the
	// ATC. The PIN is used inside and never kept.
	ExportSUKs(mkMD, mkUMD Handle, pan, psn string, firstATC uint16, n int, pin string, salt []byte, tokenRef string, transport Handle) ([]WrappedSUK, error)
	// VerifyMCCryptograms checks both mc-cloud cryptograms (cloud.VerifyMC)
	// with the session keys of the ATC in tags. The Verdict says which
	// held; a failure of either is ErrVerify, and wraps cloud.ErrMDMismatch
	// (not this token's keys) or cloud.ErrUMDMismatch (cardholder not
	// verified: wrong mobile PIN).
	VerifyMCCryptograms(mkMD, mkUMD Handle, pan, psn string, tags cryptogram.Source, ac []byte) (cloud.Verdict, error)
}

// WrappedLUK is one limited-use key wrapped under a phone's transport key
// (hsm/keyblock, usage UsageSessionAC, context = KeyIndex as YHHHHCC).
type WrappedLUK struct {
	KeyIndex string `json:"key_index"` // YHHHHCC
	API      uint16 `json:"api"`       // account parameters index
	KCV      string `json:"kcv"`
	Block    []byte `json:"block"`
}

// String shows the key index and KCV only.
func (w WrappedLUK) String() string {
	return fmt.Sprintf("wrapped limited-use key %s API %d KCV %s", w.KeyIndex, w.API, w.KCV)
}

// WrappedSUK is the pair of keys of one mc-cloud transaction, each wrapped
// under a phone's transport key (usage UsageSessionAC, context = ATC):
// SK_MD, and the SUK (SK_UMD masked by the mobile PIN). SUKKCV is the
// check value of the SUK as wrapped, never of SK_UMD: a check value of
// SK_UMD would let anyone holding the SUK test PIN guesses.
type WrappedSUK struct {
	ATC      uint16 `json:"atc"`
	MDKCV    string `json:"md_kcv"`
	MDBlock  []byte `json:"md_block"`
	SUKKCV   string `json:"suk_kcv"`
	SUKBlock []byte `json:"suk_block"`
}

// String shows the ATC and check values only.
func (w WrappedSUK) String() string {
	return fmt.Sprintf("wrapped SK_MD/SUK ATC %04X KCV %s/%s", w.ATC, w.MDKCV, w.SUKKCV)
}
