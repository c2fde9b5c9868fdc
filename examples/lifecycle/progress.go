package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress rewrites one status line on a terminal (events processed, rate,
// ETA) and says nothing when the output is not a terminal.
type progress struct {
	w     io.Writer
	on    bool
	total int
	began time.Time
	last  time.Time
	width int // of the line written last
}

// newProgress writes to w if it is a terminal (a character device).
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return &progress{w: w}
	}
	fi, err := f.Stat()
	return &progress{w: w, on: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

// note replaces the line with a message ("" clears it).
func (p *progress) note(msg string) {
	if p != nil && p.on {
		p.line(msg)
	}
}

// start begins counting towards total events.
func (p *progress) start(total int) {
	if p == nil {
		return
	}
	p.total, p.began, p.last = total, time.Now(), time.Time{}
}

// update shows done events, at most five times a second.
func (p *progress) update(done int) {
	if p == nil || !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.line(progressLine(done, p.total, now.Sub(p.began)))
}

// done clears the line.
func (p *progress) done() { p.note("") }

func (p *progress) line(s string) {
	pad := max(0, p.width-len(s))
	fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
	if s == "" {
		fmt.Fprint(p.w, "\r")
	}
	p.width = len(s)
}

// progressLine is "412,000 / 1,051,337 events (39.2%)  81,233 events/s  ETA 7s".
func progressLine(done, total int, elapsed time.Duration) string {
	pct, rate, eta := 0.0, 0.0, "?"
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if rate > 0 && done <= total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s / %s events (%.1f%%)  %s events/s  ETA %s", thousands(done), thousands(total), pct, thousands(int(rate)), eta)
}

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
