package attribution

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"
)

// rowLimiter sits between ReadPaths's input and encoding/csv and keeps
// every row to at most max bytes, so that a huge row (one line, or a
// quoted field spread over many lines) never sits in memory whole.
//
// It finds where a row ends by the quoting rules of encoding/csv (a field
// is quoted when it starts with '"'; inside, "" is a quote and a quote
// followed by anything but the delimiter or a newline is an error that
// ends the row at the end of its line, as does a quote inside an unquoted
// field), so its rows are csv's records. A longer row is passed on
// as the newlines it held, no other byte: csv skips empty lines, so the
// row disappears while the line numbers of the rows after it stay right,
// and the limiter records the line it started on for ReadPaths to report.
type rowLimiter struct {
	in    *bufio.Reader
	delim []byte // the delimiter, UTF-8 encoded
	max   int

	line    int    // lines ('\n') passed on so far
	row     []byte // the row being read, up to max bytes
	scanned int    // bytes of row already scanned
	st      rowState
	out     []byte // bytes ready for csv
	err     error  // the input's error, returned once out is drained

	// long holds the first line of every row dropped, in order; ReadPaths
	// takes them from the front as it reports them.
	long []int
}

type rowState uint8

const (
	stFieldStart rowState = iota // at the start of a field
	stUnquoted                   // in a field that does not start with '"'
	stQuoted                     // in a quoted field
	stQuote                      // after a '"' in a quoted field
	stBad                        // after a quoting error: the row ends with the line
)

func newRowLimiter(r io.Reader, delim rune, max int) *rowLimiter {
	return &rowLimiter{
		in:    bufio.NewReaderSize(r, 64<<10),
		delim: utf8.AppendRune(nil, delim),
		max:   max,
	}
}

// Read implements io.Reader.
func (l *rowLimiter) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.next()
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// next reads the next row into out, or the newlines of a row too long.
func (l *rowLimiter) next() {
	l.row = l.row[:0]
	l.scanned = 0
	l.st = stFieldStart
	start := l.line + 1
	for {
		chunk, err := l.in.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		}
		l.row = append(l.row, chunk...)
		ended := l.scan(err != nil)
		if len(l.row) > l.max {
			l.skip(ended, err, start)
			return
		}
		if ended || err != nil {
			l.line += bytes.Count(l.row, []byte{'\n'})
			l.out = l.row
			l.err = err
			return
		}
	}
}

// skip drops the row (its first max+ bytes are in l.row) and what is left
// of it in the input, passing on its newlines only.
func (l *rowLimiter) skip(ended bool, err error, start int) {
	newlines := bytes.Count(l.row, []byte{'\n'})
	// Keep the bytes not scanned yet (a delimiter cut by the end of a
	// chunk) and scan the rest of the row chunk by chunk.
	l.row = append(l.row[:0], l.row[l.scanned:]...)
	l.scanned = 0
	for !ended && err == nil {
		var chunk []byte
		chunk, err = l.in.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		}
		newlines += bytes.Count(chunk, []byte{'\n'})
		l.row = append(l.row, chunk...)
		ended = l.scan(err != nil)
		l.row = append(l.row[:0], l.row[l.scanned:]...)
		l.scanned = 0
	}
	l.line += newlines
	l.long = append(l.long, start)
	l.row = l.row[:0]
	l.out = bytes.Repeat([]byte{'\n'}, newlines)
	l.err = err
}

// scan advances the quoting state over row[scanned:] and reports whether
// the row ended (at a newline outside quotes, which is then the last byte
// read: chunks end at newlines). A delimiter of several bytes cut by the
// end of the input read so far is left unscanned unless final (a newline
// is never part of one).
func (l *rowLimiter) scan(final bool) bool {
	b, d := l.row, l.delim
	i := l.scanned
	defer func() { l.scanned = i }()
	for ; i < len(b); i++ {
		c := b[i]
		switch l.st {
		case stQuoted:
			if c == '"' {
				l.st = stQuote
			}
			continue
		case stQuote:
			if c == '"' { // an escaped quote
				l.st = stQuoted
				continue
			}
		}
		if c == '\n' {
			i++
			l.st = stFieldStart
			return true
		}
		if l.st == stBad {
			continue
		}
		if c == d[0] {
			if len(d) == 1 {
				l.st = stFieldStart
				continue
			}
			if !final && len(b)-i < len(d) && bytes.HasPrefix(d, b[i:]) {
				return false // wait for the rest of a possible delimiter
			}
			if bytes.HasPrefix(b[i:], d) {
				i += len(d) - 1
				l.st = stFieldStart
				continue
			}
		}
		switch l.st {
		case stFieldStart:
			if c == '"' {
				l.st = stQuoted
			} else {
				l.st = stUnquoted
			}
		case stUnquoted:
			if c == '"' {
				l.st = stBad // csv: bare " in non-quoted field
			}
		case stQuote:
			l.st = stBad // csv: extraneous or missing " in quoted field
		}
	}
	return false
}
