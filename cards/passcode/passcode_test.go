package passcode

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func zeroRand() *bytes.Reader { return bytes.NewReader(make([]byte, 1024)) }

// R-G3a, R-G3b: each rule has its own typed error.
func TestCheckRules(t *testing.T) {
	tests := []struct {
		code string
		rule string
		err  error
	}{
		{"5791", "", nil},
		{"135790", "", nil},
		{"1243", "", nil},
		{"0000000000000", "R-G3a", ErrTooLong},
		{"123", "R-G3a", ErrTooShort},
		{"", "R-G3a", ErrTooShort},
		{"12a4", "R-G3a", ErrNotDigits},
		{"１２３４", "R-G3a", ErrNotDigits},
		{"0000", "R-G3b", ErrAllSame},
		{"777777", "R-G3b", ErrAllSame},
		{"1234", "R-G3b", ErrSequence},
		{"0123456", "R-G3b", ErrSequence},
		{"4321", "R-G3b", ErrSequence},
		{"7890", "R-G3b", ErrSequence},
		{"2109", "R-G3b", ErrSequence},
		{"1235", "", nil},
		{"1357", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := Check(tt.code)
			if tt.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.err)
			var re *RuleError
			require.True(t, errors.As(err, &re))
			require.Equal(t, tt.rule, re.Rule)
			if tt.code != "" {
				require.NotContains(t, err.Error(), tt.code)
			}
		})
	}
}

func TestNewRejectsBadPasscode(t *testing.T) {
	_, err := New("1111", zeroRand())
	require.ErrorIs(t, err, ErrAllSame)
	_, err = New("5791", nil)
	require.Error(t, err)
}

// R-G3c: 5 consecutive wrong entries lock; the right passcode no longer
// works; only the issuer reset unlocks.
func TestLockAfterFiveWrongEntries(t *testing.T) {
	p, err := New("5791", zeroRand())
	require.NoError(t, err)
	require.NoError(t, p.Verify("5791"))
	for i := 1; i <= 4; i++ {
		err := p.Verify("0000")
		require.ErrorIs(t, err, ErrWrong)
		var we *WrongError
		require.True(t, errors.As(err, &we))
		require.Equal(t, MaxTries-i, we.Remaining)
		require.Equal(t, i, p.Failed())
		require.False(t, p.Locked())
	}
	err = p.Verify("1357")
	require.ErrorIs(t, err, ErrLocked)
	require.True(t, p.Locked())
	require.Equal(t, 0, p.Remaining())
	require.ErrorIs(t, p.Verify("5791"), ErrLocked, "right passcode refused once locked")
	require.ErrorIs(t, p.Change("5791", "2468", zeroRand()), ErrLocked)

	require.ErrorIs(t, p.Reset("2222", zeroRand()), ErrAllSame, "the reset passcode obeys the rules too")
	require.True(t, p.Locked())
	require.NoError(t, p.Reset("2468", zeroRand()))
	require.False(t, p.Locked())
	require.ErrorIs(t, p.Verify("5791"), ErrWrong)
	require.NoError(t, p.Verify("2468"))
	require.Equal(t, 0, p.Failed())
}

// Wrong entries must be consecutive to lock (R-G3c).
func TestRightEntryClearsCounter(t *testing.T) {
	p, err := New("5791", zeroRand())
	require.NoError(t, err)
	for range 4 {
		require.Error(t, p.Verify("0000"))
	}
	require.NoError(t, p.Verify("5791"))
	for range 4 {
		require.Error(t, p.Verify("0000"))
	}
	require.False(t, p.Locked())
}

func TestChange(t *testing.T) {
	p, err := New("5791", zeroRand())
	require.NoError(t, err)
	require.ErrorIs(t, p.Change("5791", "1234", zeroRand()), ErrSequence)
	require.ErrorIs(t, p.Change("0000", "2468", zeroRand()), ErrWrong)
	require.Equal(t, 1, p.Failed())
	require.NoError(t, p.Change("5791", "2468", zeroRand()))
	require.NoError(t, p.Verify("2468"))
	require.ErrorIs(t, p.Verify("5791"), ErrWrong)
}

func TestSetFailed(t *testing.T) {
	p, err := New("5791", zeroRand())
	require.NoError(t, err)
	p.SetFailed(5)
	require.True(t, p.Locked())
	p.SetFailed(-3)
	require.Equal(t, 0, p.Failed())
	p.SetFailed(4)
	require.ErrorIs(t, p.Verify("1111"), ErrLocked)
}

// The passcode never appears in clear: not in String, not in the struct.
func TestNoClearPasscode(t *testing.T) {
	p, err := New("579135", zeroRand())
	require.NoError(t, err)
	require.NotContains(t, p.String(), "579135")
	require.NotContains(t, string(p.hash), "579135")
	require.Len(t, p.hash, 32)
	q, err := New("579135", bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	require.NoError(t, err)
	require.NotEqual(t, p.hash, q.hash, "salted: same passcode, different salt, different hash")
	p.SetFailed(5)
	require.Equal(t, "passcode(locked)", p.String())
}
