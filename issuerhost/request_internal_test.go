package issuerhost

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
)

// The engine sees every field it compares with the cryptogram or with a
// token's controls: DE13 (R-G4 against 9A), DE18 and DE25 (domain
// controls) and the private field's claims (requestor, device, CDCVM).
func TestAuthzRequestMapsClaims(t *testing.T) {
	pd, err := isospec.PrivateData{TokenRequestorID: "40010030273", DeviceID: "3520990017614823", CDCVM: true}.Encode()
	require.NoError(t, err)
	r, err := authzRequest(&isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: "4895370012340011", ProcessingCode: isospec.ProcPurchase, Amount: 150000,
		TransmissionDateTime: "0315100000", STAN: "000001", LocalDate: "0315", MCC: "5411", POSEntryMode: "071",
		POSConditionCode: isospec.POSConditionCustomerNotThere, Currency: "901", PrivateData: pd,
	})
	require.NoError(t, err)
	require.Equal(t, "0315", r.LocalDate)
	require.Equal(t, "5411", r.MCC)
	require.Equal(t, "01", r.ConditionCode)
	require.Equal(t, "40010030273", r.TokenRequestorID)
	require.Equal(t, "3520990017614823", r.DeviceID)
	require.Equal(t, authz.CVMCDCVM, r.CVM)
	require.Equal(t, int64(150000), r.Amount)
	require.Equal(t, 901, r.Currency)
}
