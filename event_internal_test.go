package leadkit

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// jsonLen is the length encoding/json gives a string, for strings built of
// every kind of character it treats apart.
func TestJSONLenMatchesEncoding(t *testing.T) {
	parts := []string{"a", "Z", "0", " ", "\n", "\r", "\t", "\x01", "\x1f", "\b", "\f", `"`, `\`, "<", ">", "&", "é", "€", "—", "\u2028", "\u2029", "😀", "\u007f"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var s string
		for range r.IntN(12) {
			s += parts[r.IntN(len(parts))]
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonLen(s); got != len(b) {
			t.Fatalf("jsonLen(%q) = %d, encoding/json writes %d bytes: %s", s, got, len(b), b)
		}
	}
}
