package isospec

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/stretchr/testify/require"
)

// librarySpec is Spec with the library's own encoders and default packer:
// the reference the dialect's field codecs must agree with.
var librarySpec = func() *iso8583.MessageSpec {
	fs := map[int]field.Field{}
	for id, f := range Spec.Fields {
		s := *f.Spec()
		s.Packer = nil
		switch s.Enc.(type) {
		case asciiEncoder:
			s.Enc = encoding.ASCII
		case binaryEncoder:
			s.Enc = encoding.Binary
		}
		switch f.(type) {
		case *field.String:
			fs[id] = field.NewString(&s)
		case *field.Numeric:
			fs[id] = field.NewNumeric(&s)
		case *field.Binary:
			fs[id] = field.NewBinary(&s)
		case *field.Bitmap:
			fs[id] = field.NewBitmap(&s)
		}
	}
	return &iso8583.MessageSpec{Name: "library codecs", Fields: fs}
}()

func TestLibrarySpecComplete(t *testing.T) {
	require.Len(t, librarySpec.Fields, len(Spec.Fields))
	for id, f := range Spec.Fields {
		require.IsType(t, f, librarySpec.Fields[id], "field %d", id)
	}
}

// corpusFrames reads the seed corpus of FuzzUnpack.
func corpusFrames(t testing.TB) [][]byte {
	dir := filepath.Join("testdata", "fuzz", "FuzzUnpack")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out [][]byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		q := strings.TrimSuffix(strings.TrimPrefix(string(b), "go test fuzz v1\n[]byte("), ")\n")
		raw, err := strconv.Unquote(q)
		require.NoError(t, err)
		out = append(out, []byte(raw))
	}
	require.NotEmpty(t, out)
	return out
}

// sameMessages requires a and b to hold the same fields with the same
// values.
func sameMessages(t *testing.T, a, b *iso8583.Message) {
	t.Helper()
	fa, fb := a.GetFields(), b.GetFields()
	require.Len(t, fb, len(fa))
	for id, f := range fa {
		g, ok := fb[id]
		require.True(t, ok, "field %d", id)
		x, errX := f.Bytes()
		y, errY := g.Bytes()
		require.Equal(t, errX == nil, errY == nil, "field %d", id)
		require.True(t, bytes.Equal(x, y), "field %d: %q and %q", id, x, y)
	}
}

// FuzzFieldCodec checks that the dialect's field codecs agree with the
// library's own: the library's reader accepts the same frames under both
// and reads the same values, which pack back to the same bytes; and any
// value set in any field (the MTI included) packs to the same bytes, or
// fails under both.
func FuzzFieldCodec(f *testing.F) {
	for _, b := range corpusFrames(f) {
		f.Add(b, uint8(FieldPAN), []byte("4761739001010119"))
		f.Add(b, uint8(FieldAmount), []byte("150000"))
		f.Add(b, uint8(FieldTerminalID), []byte("TERM1"))
	}
	f.Add([]byte("0100@\x00\x00\x00\x00\x00\x00\x00+9123456789"), uint8(FieldICCData), []byte{0x9f, 0x26})
	f.Add([]byte("0100"), uint8(FieldAmount), []byte("-1"))
	f.Add([]byte("0100"), uint8(FieldCardAcceptor), []byte("caf\xc3\xa9"))
	f.Add([]byte("0100"), uint8(FieldPrivateData), bytes.Repeat([]byte("x"), 1000))
	f.Fuzz(func(t *testing.T, frame []byte, id uint8, val []byte) {
		ours, theirs := iso8583.NewMessage(Spec), iso8583.NewMessage(librarySpec)
		errOurs, errTheirs := ours.Unpack(frame), theirs.Unpack(frame)
		require.Equal(t, errTheirs == nil, errOurs == nil, "unpack: %v / %v", errTheirs, errOurs)
		if errOurs == nil {
			sameMessages(t, ours, theirs)
			a, errA := ours.Pack()
			b, errB := theirs.Pack()
			require.Equal(t, errB == nil, errA == nil, "repack: %v / %v", errB, errA)
			require.Equal(t, b, a)
		}

		ours, theirs = iso8583.NewMessage(Spec), iso8583.NewMessage(librarySpec)
		mti := "0100"
		if len(frame) >= 4 {
			mti = string(frame[:4])
		}
		ours.MTI(mti)
		theirs.MTI(mti)
		n := int(id) % 129
		if n == 1 {
			n = 0
		}
		if _, ok := Spec.Fields[n]; !ok {
			return
		}
		errOurs, errTheirs = ours.BinaryField(n, val), theirs.BinaryField(n, val)
		require.Equal(t, errTheirs == nil, errOurs == nil)
		if errOurs != nil {
			return
		}
		a, errA := ours.Pack()
		b, errB := theirs.Pack()
		require.Equal(t, errB == nil, errA == nil, "pack: %v / %v", errB, errA)
		require.Equal(t, b, a)
		if errA != nil {
			require.Equal(t, moovFieldID(errA), moovFieldID(errB))
		}
	})
}

// FuzzPackChecks checks what lets Pack skip scanning what it packed: the
// fields of a message pass checkFields exactly when the message packs and
// the bytes scan.
func FuzzPackChecks(f *testing.F) {
	f.Add("0100", int64(150000), true, uint8(FieldPAN), []byte("4761739001010119"), uint8(FieldTerminalID), []byte("TERM1"))
	f.Add("0100", int64(-1), true, uint8(FieldTrack2), []byte("4761739001010119=2512"), uint8(FieldNetworkCode), []byte("301"))
	f.Add("010", int64(1e12), true, uint8(FieldICCData), []byte{}, uint8(FieldMAC2), []byte("12345678"))
	f.Add("0800", int64(0), false, uint8(FieldCardAcceptor), []byte("caf\xc3\xa9"), uint8(FieldPrivateData), bytes.Repeat([]byte("x"), 1000))
	f.Add("08\x0000", int64(0), false, uint8(FieldSecurityControl), []byte{}, uint8(FieldMerchantID), []byte("M  "))
	f.Fuzz(func(t *testing.T, mti string, amount int64, withAmount bool, id1 uint8, v1 []byte, id2 uint8, v2 []byte) {
		msg := NewMessage()
		msg.MTI(mti)
		if withAmount {
			require.NoError(t, msg.Field(FieldAmount, "0"))
			msg.GetField(FieldAmount).(*field.Numeric).SetValue(amount)
		}
		for _, fv := range []struct {
			id uint8
			v  []byte
		}{{id1, v1}, {id2, v2}} {
			if _, ok := Spec.Fields[int(fv.id)]; !ok || fv.id < 2 || fv.id == FieldAmount {
				continue
			}
			require.NoError(t, msg.BinaryField(int(fv.id), fv.v))
		}
		errC := checkFields(msg)
		b, errP := msg.Pack()
		var errS error
		if errP == nil {
			var l layout
			errS = scan(b, &l)
		}
		require.Equal(t, errC == nil, errP == nil && errS == nil, "checks: %v, pack: %v, scan: %v", errC, errP, errS)
	})
}
