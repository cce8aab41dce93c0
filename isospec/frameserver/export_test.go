package frameserver

// InHand is the number of frames of s's connections read whole and not
// yet answered (their replies written).
func InHand(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		n += int(c.pending.Load())
	}
	return n
}
