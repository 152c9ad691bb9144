package server

import "time"

// SetCloseWait sets how long s.Serve waits for the handlers of the
// connections it closed (CloseWait).
func SetCloseWait(s *Server, d time.Duration) { s.closeWait = d }
