package idv_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/idv"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/store/storetest"
)

// The yellow path: a step-up by SMS, the OTP read from the cardholder's
// phone in the message centre, then typed back.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "idv-example-")
	defer os.RemoveAll(dir)
	db, _ := store.OpenDir(dir, storetest.Options())
	defer db.Close()
	m, _ := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")})
	cvk, _ := m.ImportKey(idv.DefaultCVKLabel, hsm.UsageCVK, keys.MustHex(keys.TDES, "4CA2161637D0133E5E151AEA45DA2A13"))
	const pan, exp = "4761739001010010", "2912"
	code, _ := m.GenerateCVV(cvk, pan, exp, "000")
	_ = db.Update(ctx, func(tx *store.Tx) error {
		_ = tx.PutAccount(ctx, store.Account{ID: "a1", Currency: 901, CreditLimit: 100000})
		_ = tx.PutCard(ctx, store.Card{ID: "c1", PAN: pan, AccountID: "a1", Expiry: exp, FormFactor: "plastic"})
		return tx.PutCardContact(ctx, store.CardContact{CardID: "c1", Phone: "+886912345678"})
	})
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	svc, err := idv.New(idv.Config{DB: db, HSM: m, Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, _ := svc.Authorize(ctx, idv.AuthorizeRequest{CorrelationID: "corr-1", RequestorID: "40010075001", PAN: pan,
		Expiry: exp, SecurityCode: code, DeviceID: "phone-1",
		Decisioning: idv.DecisioningData{DeviceScore: 2, AccountScore: 5}})
	fmt.Println(resp.Decision, resp.Reason, resp.Methods[0].Type, resp.Methods[0].Value)

	_, _ = svc.SendOTP(ctx, "corr-1", "sms")
	inbox, _ := svc.Inbox(ctx, "+886912345678")
	otp := regexp.MustCompile(`[0-9]{6}`).FindString(inbox[0].Body)
	v, err := svc.VerifyOTP(ctx, "corr-1", otp)
	fmt.Println(v.Verified, err)
	// Output:
	// REQUIRE_ADDITIONAL_AUTHENTICATION low_device_score TEXT_TO_CARDHOLDER_NUMBER +********5678
	// true <nil>
}
