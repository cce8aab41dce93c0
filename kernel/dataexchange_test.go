package kernel_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/kernel"
)

func TestTagsToWrite(t *testing.T) {
	l, err := kernel.TagsToWrite([]byte{0xDF, 0x01, 0x02, 0x00, 0x01, 0x9F, 0x4E, 0x01, 0x41})
	require.NoError(t, err)
	require.Equal(t, tlv.List{{Tag: 0xDF01, Value: []byte{0x00, 0x01}}, {Tag: 0x9F4E, Value: []byte{0x41}}}, l)

	l, err = kernel.TagsToWrite(nil)
	require.NoError(t, err)
	require.Empty(t, l)

	for name, b := range map[string][]byte{
		"truncated":      {0xDF, 0x01, 0x05, 0x00},
		"constructed":    {0x70, 0x03, 0x5A, 0x01, 0x01},
		"three-byte tag": {0xDF, 0x81, 0x01, 0x01, 0x00},
	} {
		_, err := kernel.TagsToWrite(b)
		require.ErrorIs(t, err, kernel.ErrTagsToWrite, name)
	}
}

func TestDETConfig(t *testing.T) {
	c := kernel.DefaultConfig()
	require.Nil(t, c.Exchange(), "no DET, no callback: no exchange")

	c.DET = &kernel.DETConfig{
		Data:                  kernel.HexBytes{0x9F, 0x1D, 0x01, 0x42},
		TagsToWriteAfterGenAC: kernel.HexBytes{0xDF, 0x02, 0x01, 0xAA},
	}
	require.NoError(t, c.Validate())
	det := c.Exchange()(kernel.DEK{})
	require.Equal(t, tlv.List{{Tag: 0x9F1D, Value: []byte{0x42}}}, det.Data)
	require.Equal(t, tlv.List{{Tag: 0xDF02, Value: []byte{0xAA}}}, det.TagsToWriteAfterGenAC)
	require.Empty(t, det.TagsToWriteBeforeGenAC)

	// A clone does not share the DET.
	cl := c.Clone()
	cl.DET.Data[3] = 0x43
	require.Equal(t, byte(0x42), c.DET.Data[3])

	// The callback wins over the configuration.
	called := false
	c.DataExchange = func(kernel.DEK) kernel.DET { called = true; return kernel.DET{} }
	c.Exchange()(kernel.DEK{})
	require.True(t, called)

	// Bad lists are configuration errors.
	c.DET = &kernel.DETConfig{TagsToWriteBeforeGenAC: kernel.HexBytes{0x70, 0x00}}
	require.ErrorIs(t, c.Validate(), kernel.ErrConfig)
	c.DET = nil
	c.Combinations[0].TagsToWriteAfterGenAC = kernel.HexBytes{0xDF}
	require.ErrorIs(t, c.Validate(), kernel.ErrConfig)
}

// FuzzTagsToWrite: any bytes parse or fail with ErrTagsToWrite, never
// panic, and what parses holds only primitive tags of at most two bytes.
func FuzzTagsToWrite(f *testing.F) {
	f.Add([]byte{0xDF, 0x01, 0x02, 0x00, 0x01})
	f.Add([]byte{0x70, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := kernel.TagsToWrite(b)
		if err != nil {
			require.ErrorIs(t, err, kernel.ErrTagsToWrite)
			return
		}
		for _, x := range l {
			require.False(t, x.Tag.Constructed())
			require.LessOrEqual(t, uint32(x.Tag), uint32(0xFFFF))
		}
	})
}

// TestDETConfigDelay: the configured DET keeps its answer delay, and the
// Time Out Value defaults to 500 ms.
func TestDETConfigDelay(t *testing.T) {
	d, err := kernel.DETConfig{Data: kernel.HexBytes{0xDF, 0x81, 0x10, 0x01, 0x01}, Delay: 200 * time.Millisecond}.DET()
	require.NoError(t, err)
	require.Equal(t, 200*time.Millisecond, d.Delay)
	require.Equal(t, tlv.Tag(0xDF8110), d.Data[0].Tag)
	var cb kernel.Combination
	require.Equal(t, kernel.DefaultTimeOutValue, cb.TimeOut())
	cb.TimeOutValue = time.Second
	require.Equal(t, time.Second, cb.TimeOut())
}
