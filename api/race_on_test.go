//go:build race

package api_test

// raceDetector: the race detector instruments every byte the JSON scanner reads, which makes
// the memory test's 2 GiB stream take minutes; under it the test sends fewer rows.
const raceDetector = true
