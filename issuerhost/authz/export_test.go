package authz

// SetBetweenPhases has f called between the read phase and the write
// phase of every authorisation of e.
func SetBetweenPhases(e *Engine, f func(Request)) { e.betweenPhases = f }
