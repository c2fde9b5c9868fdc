// Package text holds the small string helpers every leadkit package uses
// the same way, so that the same input gets the same message everywhere.
package text

// Clip shortens s to at most n bytes for an error message, cutting at a
// character boundary and marking the cut with "...".
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
