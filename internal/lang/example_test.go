package lang_test

import (
	"fmt"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/lang"
)

// A funnel step's predicate: compiled once against the event schema with
// a declared attribute, evaluated per event without allocating.
func Example() {
	fields := lang.EventFields()
	declared, _ := lang.DeclaredFields([]leadkit.FieldSpec{{Name: "event.pages", Type: leadkit.TypeNumber}}, fields, "event")
	sch := lang.NewSchema(append(fields, declared...), lang.SchemaOptions{
		Declare: `declare it in fields: {"name": "{name}", "type": "{type}"}`, DeclareScopes: []string{"event"},
	})
	p, err := lang.Compile(`event.channel == "webinar" && event.pages > 10`, sch, lang.Config{Want: lang.Bool, MaxCost: lang.DefaultMaxEventCost})
	fmt.Println(err == nil, p.Fast())
	ok, _ := p.Bool(&lang.Ctx{Event: &leadkit.Event{Channel: "webinar", Attrs: map[string]any{"pages": 12}}}, lang.NewRunner(lang.Limits{}))
	fmt.Println(ok)

	_, err = lang.Compile(`Channel == "webinar"`, sch, lang.Config{Want: lang.Bool})
	fmt.Println(err)
	_, err = lang.Compile(`event.topic == "ai"`, sch, lang.Config{Want: lang.Bool})
	fmt.Println(err)
	// Output:
	// true true
	// true
	// line 1, column 1: unknown name Channel: the name is now event.channel
	// line 1, column 7: event has no field topic: undeclared field: declare it in fields: {"name": "event.topic", "type": "string"}
}
