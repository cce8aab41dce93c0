package tsm

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzOTA: the OTA listener's bodies, from phones, never panic the parser
// or the step checks.
func FuzzOTA(f *testing.F) {
	f.Add([]byte(`{"session":"00112233445566778899aabbccddeeff","step":1,"response":"9000"}`))
	f.Add([]byte(`{"device_id":"d-1","order_id":"o-1","otp":"123456"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st OTAStep
		if strictDecode(b, &st) == nil {
			ms := NewMemoryStore()
			pend, _ := newPmap[*pending](ms, "pending", func(error) {})
			status, _ := newPmap[string](ms, "status", func(error) {})
			s := &SETSM{cfg: SEConfig{Now: func() time.Time { return time.Time{} }}, sessions: map[string]*otaSession{}, closed: map[string]bool{},
				pending: pend, status: status, stop: make(chan struct{})}
			_, _ = s.step(st, "")
		}
		var op OTAOpen
		_ = strictDecode(b, &op)
	})
}

// FuzzOrder: an order's and a script's fields are validated whatever they
// hold.
func FuzzOrder(f *testing.F) {
	f.Add([]byte(`{"order_id":"o-1"}`))
	f.Add([]byte(`{"order_id":"o-1","card_ref":"c","se_id":"47905040000001010007","device_id":"d","phone_number":"+886912345678","ssd":"A000000151535001","otp_check":"00","script":"x"}`))
	f.Add([]byte(`{"sessions":[{"sd":"A000000151000000","kvn":1,"enc":"00","mac":"00","commands":[{"apdu":"80E60000"}]}]}`))
	f.Add([]byte(`{"order_id":"o-1","step":0,"initial_keys":{"ssd":"A000000151535001","kvn":48,"enc":"00","mac":"00","dek":"00"}}`))
	f.Add([]byte(`{"order_id":"o-1","step":2,"response":"9000"}`))
	f.Add([]byte(`{"order_id":"o-1","step":3,"command":"84E2000010","done":false}`))
	f.Add([]byte(`{"order_id":"o-1","otp":"123456"}`))
	f.Add([]byte(`{"se_id":"47905040000001010007","device_id":"d","phone_number":"+886912345678","isd_keys":{"ssd":"A000000151000000","kvn":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var o Order
		if json.Unmarshal(b, &o) == nil {
			_ = o.Validate()
			_ = o.String()
		}
		var sc Script
		if json.Unmarshal(b, &sc) == nil {
			_ = sc.Validate()
		}
		var c Check
		if json.Unmarshal(b, &c) == nil {
			_ = c.Validate()
		}
		var q StatusQuery
		if json.Unmarshal(b, &q) == nil {
			_ = q.Validate()
		}
		var k SSDKeys
		if json.Unmarshal(b, &k) == nil {
			_ = k.Validate()
		}
		var rl Relay
		if json.Unmarshal(b, &rl) == nil {
			_ = rl.Validate()
			_ = rl.String()
		}
		var rn RelayNext
		if json.Unmarshal(b, &rn) == nil {
			_ = rn.Validate()
		}
		var v VerifyOTP
		if json.Unmarshal(b, &v) == nil {
			_ = v.Validate()
		}
		var reg Registration
		if json.Unmarshal(b, &reg) == nil {
			_ = reg.Validate()
		}
		if json.Unmarshal(b, &o) == nil {
			_ = o.ValidateHandover()
		}
	})
}
