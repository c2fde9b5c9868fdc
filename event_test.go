package leadkit_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
)

func TestEventValidate(t *testing.T) {
	ok := leadkit.Event{ID: "e1", LeadID: "L1", Type: leadkit.EventDownload, Time: time.Unix(1, 0)}
	assert.NoError(t, ok.Validate())
	for field, mutate := range map[string]func(*leadkit.Event){
		"id":      func(e *leadkit.Event) { e.ID = "" },
		"lead_id": func(e *leadkit.Event) { e.LeadID = "" },
		"type":    func(e *leadkit.Event) { e.Type = "" },
		"time":    func(e *leadkit.Event) { e.Time = time.Time{} },
	} {
		e := ok
		mutate(&e)
		err := e.Validate()
		assert.ErrorIs(t, err, leadkit.ErrInvalid, field)
		assert.ErrorContains(t, err, "missing "+field)
	}
}

func ExampleEvent_Validate() {
	e := leadkit.Event{ID: "evt-1", LeadID: "L-7", Type: leadkit.EventWebinarAttended}
	err := e.Validate()
	fmt.Println(errors.Is(err, leadkit.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// leadkit: invalid input: event "evt-1": missing time
}

func TestValidTimeBounds(t *testing.T) {
	assert.True(t, leadkit.ValidTime(leadkit.MinTime))
	assert.False(t, leadkit.ValidTime(leadkit.MinTime.Add(-time.Nanosecond)))
	assert.True(t, leadkit.ValidTime(leadkit.MaxTime.Add(-time.Nanosecond)))
	assert.False(t, leadkit.ValidTime(leadkit.MaxTime))
	assert.False(t, leadkit.ValidTime(time.Time{}))
}
