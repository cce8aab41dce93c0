//go:build !linux

package vpcd

// quickAck does nothing where TCP_QUICKACK does not exist.
func quickAck(any) {}
