//go:build race

package main

// raceEnabled says the tests run with -race; the server binary is then built
// with it too.
const raceEnabled = true
