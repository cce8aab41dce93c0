package frametest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is a hostile server for the tests of frame clients (the terminal's
// link to the acquirer, the acquirer's issuer links): it answers the frames
// it reads as Answer says and floods every connection with frames nobody
// asked for.
type Peer struct {
	// Answer, when set, is called with each frame read (length header
	// excluded); a non-nil result is written back as one frame.
	Answer func(frame []byte) []byte
	// Flood is written to every connection, each element in one write,
	// again and again until the connection breaks: whole frames, garbage,
	// half frames. Flooding starts after the first answer is written, or
	// at once when Answer is nil.
	Flood [][]byte
}

// PeerServer is a running Peer. Create it with ServePeer.
type PeerServer struct {
	ln       net.Listener
	peer     Peer
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	accepted atomic.Int64
	frames   atomic.Int64
}

// ServePeer listens on a free loopback port and serves p until the end of
// the test, when the listener and every connection are closed and every
// goroutine of the server has ended.
func ServePeer(t T, p Peer) *PeerServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("frametest: listen: %v", err)
	}
	s := &PeerServer{ln: ln, peer: p, conns: map[net.Conn]struct{}{}}
	t.Cleanup(s.Close)
	s.wg.Add(1)
	go s.accept()
	return s
}

// Addr is the address the peer listens on.
func (s *PeerServer) Addr() string { return s.ln.Addr().String() }

// Accepted counts the connections accepted so far.
func (s *PeerServer) Accepted() int { return int(s.accepted.Load()) }

// Frames counts the whole frames read so far.
func (s *PeerServer) Frames() int { return int(s.frames.Load()) }

// Close stops listening, closes every connection and waits for the
// server's goroutines.
func (s *PeerServer) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *PeerServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		go s.serve(c)
	}
}

// serve reads frames and answers them while a second goroutine floods;
// both end when the connection breaks.
func (s *PeerServer) serve(c net.Conn) {
	defer s.wg.Done()
	var (
		wmu     sync.Mutex // one write at a time
		start   = make(chan struct{})
		started sync.Once
		quit    = make(chan struct{})
		flooder sync.WaitGroup
	)
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = c.SetWriteDeadline(time.Now().Add(Wait))
		_, err := c.Write(b)
		return err
	}
	if len(s.peer.Flood) > 0 {
		flooder.Add(1)
		go func() {
			defer flooder.Done()
			select {
			case <-start:
			case <-quit:
				return
			}
			for {
				for _, b := range s.peer.Flood {
					if write(b) != nil {
						_ = c.Close()
						return
					}
				}
			}
		}()
	}
	if s.peer.Answer == nil {
		started.Do(func() { close(start) })
	}
	defer func() {
		close(quit)
		_ = c.Close()
		flooder.Wait()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	hdr := make([]byte, 2)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		frame := make([]byte, int(hdr[0])<<8|int(hdr[1]))
		if _, err := io.ReadFull(c, frame); err != nil {
			return
		}
		s.frames.Add(1)
		if s.peer.Answer == nil {
			continue
		}
		if reply := s.peer.Answer(frame); reply != nil {
			if write(Frame(reply)) != nil {
				return
			}
			started.Do(func() { close(start) })
		}
	}
}
