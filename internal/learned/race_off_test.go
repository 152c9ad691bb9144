//go:build !race

package learned

// raceEnabled: the race detector makes sync.Pool drop items at random.
const raceEnabled = false
