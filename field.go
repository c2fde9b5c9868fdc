package leadkit

// FieldType is the declared type of a value that expressions read: a stage
// fact, a custom profile field or an event attribute.
type FieldType string

// The field types. Values are converted by one rule everywhere: numbers by
// [Number]; strings lists from []string or []any of strings; times from
// time.Time or an RFC 3339 string.
const (
	TypeNumber  FieldType = "number"  // float64; every Go number type, json.Number
	TypeString  FieldType = "string"  // string
	TypeBool    FieldType = "bool"    // bool
	TypeStrings FieldType = "strings" // []string, or []any holding strings
	TypeTime    FieldType = "time"    // time.Time or an RFC 3339 string; read with daysSince(t)
)

// Valid reports whether t is one of the field types.
func (t FieldType) Valid() bool {
	switch t {
	case TypeNumber, TypeString, TypeBool, TypeStrings, TypeTime:
		return true
	}
	return false
}

// FieldSpec declares a custom field that expressions may read, with its
// type. Name is "person.<key>" or "company.<key>" (read from Person.Custom
// and Company.Custom) or "event.<key>" (read from Event.Attrs), e.g.
// {Name: "event.topic", Type: TypeString}; expressions then read it as
// event.topic. A missing value reads as the type's zero value; a value of
// another type is an error of the expression that reads it.
type FieldSpec struct {
	Name string    `json:"name"`
	Type FieldType `json:"type"`
}
