package soft_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// Hosts call the module from many goroutines at once, while keys are
// added and retired; every answer stays right and the keystore stays
// whole.
func TestConcurrentUse(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	imk := mustImport(t, f.hsm, "imk", hsm.UsageIMKAC, keys.TDES, katIMK)
	bdk := mustImport(t, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	tak := mustImport(t, f.hsm, "tak", hsm.UsageTAK, keys.TDES, "042666B4918430A368DE9628D03984C9")
	// The DEK's AES-GCM is made at its first use, by whichever goroutine
	// comes first.
	dek, err := f.hsm.GenerateKey("dek", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	v := arqcVectors(t)[1]
	want := encPIN(t, zpkHex, "1234", x924PAN)
	arqc, ksn, block := h(t, v.arqc), h(t, "FFFF9876543210E00001"), h(t, "1B9C1845EB993A7A")

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if err := f.hsm.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, arqc); err != nil {
					errs <- err
					return
				}
				out, err := f.hsm.TranslatePINDUKPT(bdk, ksn, block, zpk, x924PAN)
				if err != nil || hx(out) != hx(want) {
					errs <- fmt.Errorf("translate: %v", err)
					return
				}
				m, err := f.hsm.GenerateMAC(tak, []byte(annexData))
				if err != nil || hx(m[:4]) != "9CCC7817" {
					errs <- fmt.Errorf("mac: %v", err)
					return
				}
				field := fmt.Sprintf("field %d/%d", g, i)
				sealed, err := f.hsm.EncryptData(dek, []byte(field), []byte("aad"))
				if err != nil {
					errs <- fmt.Errorf("encrypt: %v", err)
					return
				}
				if plain, err := f.hsm.DecryptData(dek, sealed, []byte("aad")); err != nil || string(plain) != field {
					errs <- fmt.Errorf("decrypt: %q %v", plain, err)
					return
				}
				label := fmt.Sprintf("g%d/k%d", g, i)
				k, err := f.hsm.GenerateKey(label, hsm.UsageZAK, keys.AES, 16)
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if err := f.hsm.DeleteKey(k); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	list, err := f.hsm.List()
	require.NoError(t, err)
	require.Len(t, list, 5+8*10) // the imported keys, the DEK, those not deleted
	require.NoError(t, f.hsm.Close())

	again := newHSM(t, path)
	list2, err := again.hsm.List()
	require.NoError(t, err)
	require.Equal(t, list, list2)
}
