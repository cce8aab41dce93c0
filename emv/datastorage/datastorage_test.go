package datastorage_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/datastorage"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The worked example published with an open-source implementation of Book
// C-2 section 8.2 (DS ID 5168624300900697).
func TestPartialKeyAndOWHF2(t *testing.T) {
	pk, err := datastorage.PartialKey(h("5168624300900697"))
	require.NoError(t, err)
	require.Equal(t, h("66887C5600B47C5600B40CC2"), pk)

	d, err := datastorage.OWHF2(h("5168624300900697"), h("8199829983998499"), h("1223344556677889"))
	require.NoError(t, err)
	require.Equal(t, h("659C8EBFAA816DB5"), d)
}

func TestLengths(t *testing.T) {
	_, err := datastorage.PartialKey(h("0102030405"))
	require.ErrorIs(t, err, datastorage.ErrLength)
	_, err = datastorage.OWHF2(h("5168624300900697"), h("81998299"), h("1223344556677889"))
	require.ErrorIs(t, err, datastorage.ErrLength)
}

func TestObjectID(t *testing.T) {
	op := h("7A45123EE59C7F40")
	require.Equal(t, op, datastorage.ObjectID(op, nil, datastorage.SlotVolatile))
	require.Equal(t, op, datastorage.ObjectID(op, []byte{datastorage.SlotPermanent}, datastorage.SlotPermanent))
	require.Equal(t, make([]byte, 8), datastorage.ObjectID(op, []byte{datastorage.SlotPermanent}, datastorage.SlotVolatile))
}
