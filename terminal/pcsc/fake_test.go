package pcsc

import (
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// fakeState is one answer of the fake's SCardGetStatusChange.
type fakeState struct {
	flags scard.StateFlag
	atr   []byte
	err   error
}

// fakeContext is a PC/SC context whose answers the test scripts. Waits
// with nothing scripted block until Cancel or their timeout, like pcscd.
type fakeContext struct {
	mu        sync.Mutex
	readers   []string
	listErr   error
	states    []fakeState
	connects  []func() (scardCard, error)
	cancel    chan struct{}
	cancels   int
	released  bool
	waitCalls int
	waiting   chan struct{} // receives when a wait starts blocking
}

func newFakeContext(readers ...string) *fakeContext {
	return &fakeContext{readers: readers, cancel: make(chan struct{}, 1), waiting: make(chan struct{}, 16)}
}

func (f *fakeContext) ListReaders() ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readers, f.listErr
}

func (f *fakeContext) GetStatusChange(states []scard.ReaderState, timeout time.Duration) error {
	f.mu.Lock()
	f.waitCalls++
	if len(f.states) > 0 {
		st := f.states[0]
		f.states = f.states[1:]
		f.mu.Unlock()
		if st.err != nil {
			return st.err
		}
		for i := range states {
			states[i].EventState = st.flags | scard.StateChanged
			states[i].Atr = st.atr
		}
		return nil
	}
	f.mu.Unlock()
	select {
	case f.waiting <- struct{}{}:
	default:
	}
	if timeout == 0 {
		return scard.ErrTimeout
	}
	select {
	case <-f.cancel:
		return scard.ErrCancelled
	case <-time.After(timeout):
		return scard.ErrTimeout
	}
}

func (f *fakeContext) Connect(reader string, mode scard.ShareMode, proto scard.Protocol) (scardCard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.connects) == 0 {
		return nil, scard.ErrNoSmartcard
	}
	c := f.connects[0]
	f.connects = f.connects[1:]
	return c()
}

func (f *fakeContext) Cancel() error {
	f.mu.Lock()
	f.cancels++
	f.mu.Unlock()
	select {
	case f.cancel <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeContext) Release() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = true
	return nil
}

// script adds wait answers and connections.
func (f *fakeContext) script(states ...fakeState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, states...)
}

func (f *fakeContext) willConnect(cards ...scardCard) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cards {
		f.connects = append(f.connects, func() (scardCard, error) { return c, nil })
	}
}

func (f *fakeContext) willFailConnect(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range errs {
		f.connects = append(f.connects, func() (scardCard, error) { return nil, e })
	}
}

// fakeCard is a card handle answering with answer, or blocking on block.
type fakeCard struct {
	mu           sync.Mutex
	proto        scard.Protocol
	atr          []byte
	answer       func(cmd []byte) ([]byte, error)
	block        chan struct{} // when set, Transmit waits for it to close
	statusErr    error
	reconnectErr error
	commands     [][]byte
	disconnects  []scard.Disposition
	reconnects   []scard.Disposition
}

func newFakeCard(answer func(cmd []byte) ([]byte, error)) *fakeCard {
	return &fakeCard{proto: scard.ProtocolT1, atr: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}, answer: answer}
}

func (c *fakeCard) Transmit(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	c.commands = append(c.commands, append([]byte(nil), cmd...))
	block, answer := c.block, c.answer
	c.mu.Unlock()
	if block != nil {
		<-block
	}
	return answer(cmd)
}

func (c *fakeCard) Status() (*scard.CardStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.statusErr != nil {
		return nil, c.statusErr
	}
	return &scard.CardStatus{Reader: "fake", State: scard.Present, ActiveProtocol: c.proto, Atr: c.atr}, nil
}

func (c *fakeCard) Reconnect(mode scard.ShareMode, proto scard.Protocol, disp scard.Disposition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconnects = append(c.reconnects, disp)
	if c.reconnectErr == nil {
		c.statusErr = nil
	}
	return c.reconnectErr
}

func (c *fakeCard) Disconnect(disp scard.Disposition) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disconnects = append(c.disconnects, disp)
	return nil
}

func (c *fakeCard) ActiveProtocol() scard.Protocol { return c.proto }

func (c *fakeCard) sent() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.commands...)
}
