//go:build race

// Package race says whether the race detector is built in: it allocates on its own, so
// allocation counts (testing.AllocsPerRun) mean nothing under -race.
package race

// Enabled is true under -race.
const Enabled = true
