package beam

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // file paths without a scheme
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/leadkit/leadkit"
)

func init() {
	register.DoFn4x1[context.Context, fileio.ReadableFile, func(leadkit.Event), func(RejectedLine), error](&readEventsFn{})
	register.Emitter1[leadkit.Event]()
	register.Emitter1[RejectedLine]()
	register.Function1x2(jsonLine)
	register.DoFn3x1[context.Context, []byte, func(*string) bool, error](&writeSortedFn{})
	register.Iter1[string]()
	beam.RegisterCoder(reflect.TypeFor[RejectedLine](), encodeRejectedLine, decodeRejectedLine)
}

// MaxLineBytes caps one line of a JSON-lines event file (without its end
// of line): 4 x leadkit.MaxEventBytes, room for any event within the caps
// of leadkit.Event.Validate as encoding/json writes it (the cap counts 8
// bytes for a number, which JSON writes in up to 24). ReadEvents rejects a
// longer line without holding it in memory.
const MaxLineBytes = 4 * leadkit.MaxEventBytes

// maxRejectedText caps RejectedLine.Text.
const maxRejectedText = 256

// RejectedLine is a line of an event file that ReadEvents left out: the
// dead-letter output. A rejected line is in no output, and the pipeline
// goes on.
type RejectedLine struct {
	// File is the file's path, as the glob matched it.
	File string `json:"file"`
	// Line is the line's number in the file, from 1.
	Line int64 `json:"line"`
	// Reason says what is wrong; it starts with leadkit.ErrInvalid's text
	// ("leadkit: invalid input: ").
	Reason string `json:"reason"`
	// Text is the start of the line: its first 256 bytes.
	Text string `json:"text"`
}

// ReadEvents reads the files that glob matches (any filesystem Beam has
// registered: a local path, gs://...; files ending in .gz are gunzipped)
// as JSON lines, one leadkit.Event per line in the JSON it marshals to:
//
//	{"id":"e1","lead_id":"l1","type":"download","channel":"web","time":"2026-03-01T09:00:00Z","attrs":{"asset":"guide"}}
//
// events is a PCollection of leadkit.Event, the events that pass
// leadkit.Event.Validate, their times in UTC (attribute numbers are
// float64, as after a store). rejected is a PCollection of RejectedLine,
// one per line that is not an event: not one JSON object, a key Event
// does not have (a misspelt "chanel" would otherwise drop the channel),
// data after the object, an event that fails Validate, or a line over
// MaxLineBytes (counted, not kept: a huge line costs no memory). Blank
// lines are skipped. A malformed line never fails the pipeline; a file
// that cannot be read does (a read error is not a property of the data).
//
// The same files give the same events and dead letters whatever the
// runner: a file is read from start to end by one worker (files are
// spread over workers, but a file is not split), and each line is decoded
// on its own. Events are not deduplicated: Timelines makes the tenant's
// timelines of them.
//
// A glob without a wildcard that matches no file fails the pipeline; one
// with a wildcard may match none.
func ReadEvents(s beam.Scope, glob string) (events, rejected beam.PCollection) {
	s = s.Scope("leadkit.ReadEvents")
	files := fileio.ReadMatches(s, fileio.MatchFiles(s, glob))
	// The matches come out of one element (the glob): reshuffled, the
	// files can be read by several workers.
	files = beam.Reshuffle(s, files)
	return beam.ParDo2(s, &readEventsFn{MaxLine: MaxLineBytes}, files)
}

// readEventsFn reads one file of JSON lines.
type readEventsFn struct {
	MaxLine int `json:"max_line"`
}

// ProcessElement reads f line by line.
func (fn *readEventsFn) ProcessElement(ctx context.Context, f fileio.ReadableFile, emit func(leadkit.Event), bad func(RejectedLine)) error {
	rc, err := f.Open(ctx)
	if err != nil {
		return fmt.Errorf("leadkit beam: read events: %w", err)
	}
	defer rc.Close()
	err = ScanEventLines(rc, f.Metadata.Path, fn.MaxLine, func(e leadkit.Event) error {
		emit(e)
		return nil
	}, func(r RejectedLine) error {
		bad(r)
		return nil
	})
	if err != nil {
		return err
	}
	return rc.Close()
}

// ScanEventLines reads r, the JSON lines of the file named file, by the
// rules of ReadEvents, calling event for each event and rejected for each
// line that is not one (either may be nil). maxLine caps a line (0
// means MaxLineBytes). It returns the first error of r, event or
// rejected. ReadEvents runs it on
// each file; a program reads a file with it the way the pipeline does
// (to check a file before a run, or to compute the same results in
// memory).
func ScanEventLines(r io.Reader, file string, maxLine int, event func(leadkit.Event) error, rejected func(RejectedLine) error) error {
	if maxLine <= 0 {
		maxLine = MaxLineBytes
	}
	if event == nil {
		event = func(leadkit.Event) error { return nil }
	}
	if rejected == nil {
		rejected = func(RejectedLine) error { return nil }
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		line []byte // the line so far, while it is within maxLine (+1 for its '\n')
		n    int    // the line's length so far, kept or not
		head []byte // the first bytes of a line too long to keep
		num  int64
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return fmt.Errorf("leadkit beam: read events: %s: %w", file, err)
		}
		if n <= maxLine {
			line = append(line, chunk...)
			if len(line) > maxLine+1 { // over the cap even without a '\n': stop keeping it
				head = append(head[:0], line[:min(len(line), maxRejectedText)]...)
				line = line[:0]
			}
		}
		n += len(chunk)
		if err == bufio.ErrBufferFull {
			continue // the line goes on
		}
		if n == 0 { // the end of the file, after a '\n' or in an empty file
			return nil
		}
		num++
		length := n
		if err == nil {
			length-- // the '\n'
		}
		var rej *RejectedLine
		if length > maxLine {
			if n <= maxLine+1 { // still kept: a line without '\n' one byte over
				head = append(head[:0], line[:min(len(line), maxRejectedText)]...)
			}
			rej = &RejectedLine{Reason: fmt.Sprintf("%s: line of %d bytes, over the limit of %d", leadkit.ErrInvalid, length, maxLine), Text: clipText(head)}
		} else if e, reason := decodeEventLine(line); reason != "" {
			rej = &RejectedLine{Reason: reason, Text: clipText(line)}
		} else if e != nil {
			if cerr := event(*e); cerr != nil {
				return cerr
			}
		}
		if rej != nil {
			rej.File, rej.Line = file, num
			if cerr := rejected(*rej); cerr != nil {
				return cerr
			}
		}
		if err == io.EOF {
			return nil
		}
		line, n = line[:0], 0
	}
}

// clipText is the start of a line for RejectedLine.Text: its first
// maxRejectedText bytes without the end of line, invalid UTF-8 replaced
// (JSON could not carry it as it is).
func clipText(b []byte) string {
	b = bytes.TrimRight(b[:min(len(b), maxRejectedText)], "\r\n")
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// decodeEventLine decodes one line: nil and "" for a blank line, the
// event, or why the line is not one.
func decodeEventLine(line []byte) (*leadkit.Event, string) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, ""
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var e leadkit.Event
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Sprintf("%s: not a JSON event: %s", leadkit.ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Sprintf("%s: data after the event", leadkit.ErrInvalid)
	}
	e.Time = e.Time.UTC()
	if err := e.Validate(); err != nil {
		return nil, err.Error()
	}
	return &e, ""
}

// WriteJSON writes the elements of col, a PCollection of any type that
// encoding/json marshals, to the file path (a local path, gs://...), one
// JSON line per element, the lines sorted byte-wise: the same elements
// give the same file whatever the runner and the order they arrive in.
// An empty col writes an empty file. An element that json.Marshal
// refuses (a dead letter whose input holds a NaN, or a time outside
// years 0-9999: what validation refused) is written as
// {"unencodable": "<the element as Go prints it>", "error": "<why>"}, so
// that writing a dead letter never fails the pipeline.
//
// Every line is held in memory on one worker to be sorted: WriteJSON is
// for results and dead letters (one funnel per tenant, one attribution),
// not for a PCollection of millions of elements (write those with
// textio.Write, in arrival order).
func WriteJSON(s beam.Scope, path string, col beam.PCollection) {
	s = s.Scope("leadkit.WriteJSON")
	filesystem.ValidateScheme(path)
	lines := beam.ParDo(s, jsonLine, globalWindow(s, col))
	// One call of writeSortedFn sees every line, as a side input of a
	// single impulse: it runs, and writes the file, even when there is
	// no line.
	beam.ParDo0(s, &writeSortedFn{Path: path}, beam.Impulse(s), beam.SideInput{Input: lines})
}

func jsonLine(v beam.T) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		b, err = json.Marshal(map[string]string{"unencodable": fmt.Sprintf("%+v", v), "error": err.Error()})
		if err != nil {
			return "", fmt.Errorf("leadkit beam: write json: %w", err)
		}
	}
	return string(b), nil
}

// writeSortedFn writes the sorted lines to one file.
type writeSortedFn struct {
	Path string `json:"path"`
}

// ProcessElement writes every line of iter, sorted, to the file.
func (fn *writeSortedFn) ProcessElement(ctx context.Context, _ []byte, iter func(*string) bool) error {
	var lines []string
	var l string
	for iter(&l) {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	fs, err := filesystem.New(ctx, fn.Path)
	if err != nil {
		return fmt.Errorf("leadkit beam: write json: %w", err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, fn.Path)
	if err != nil {
		return fmt.Errorf("leadkit beam: write json: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return fmt.Errorf("leadkit beam: write json: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("leadkit beam: write json: %w", err)
	}
	return nil
}

func encodeRejectedLine(v RejectedLine) ([]byte, error) { return json.Marshal(v) }

func decodeRejectedLine(b []byte) (RejectedLine, error) { return unmarshalJSON[RejectedLine](b) }
