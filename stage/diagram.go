package stage

import (
	"fmt"
	"github.com/leadkit/leadkit"
	"strings"
)

// Mermaid renders the definition as a Mermaid state diagram. Automatic
// transitions show their guard; transitions from "*" are drawn from every
// stage they leave from; terminal stages lead to [*].
func (d Definition) Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    %%%% pipeline: %s\n", mermaidText(d.Name))
	for _, s := range d.Stages {
		label := s.Label
		if label == "" {
			label = s.Name
		}
		fmt.Fprintf(&b, "    state \"%s\" as %s\n", mermaidText(label), mermaidID(s.Name))
	}
	if d.Initial != "" {
		fmt.Fprintf(&b, "    [*] --> %s\n", mermaidID(d.Initial))
	}
	for _, e := range d.edges() {
		fmt.Fprintf(&b, "    %s --> %s: %s\n", mermaidID(e.from), mermaidID(e.to), mermaidText(e.label))
	}
	for _, s := range d.Stages {
		if s.Terminal {
			fmt.Fprintf(&b, "    %s --> [*]\n", mermaidID(s.Name))
		}
	}
	return b.String()
}

// DOT renders the definition as a Graphviz digraph: automatic transitions
// dashed with their guard, terminal stages with a double border, stages
// with an SLA labelled with it.
func (d Definition) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(d.Name))
	b.WriteString("    rankdir=LR;\n    node [shape=box, style=rounded];\n")
	if d.Initial != "" {
		b.WriteString("    \"__start\" [shape=point, label=\"\"];\n")
		fmt.Fprintf(&b, "    \"__start\" -> %s;\n", dotQuote(d.Initial))
	}
	for _, s := range d.Stages {
		label := s.Label
		if label == "" {
			label = s.Name
		}
		if label != s.Name {
			label = dotEscape(s.Name) + `\n` + dotEscape(label)
		} else {
			label = dotEscape(label)
		}
		if s.SLA > 0 {
			label += `\nSLA ` + leadkit.FormatDuration(s.SLA)
		}
		attrs := fmt.Sprintf("label=\"%s\"", label)
		if s.Terminal {
			attrs += ", peripheries=2"
		}
		if s.Category != "" {
			attrs += fmt.Sprintf(", tooltip=\"%s\"", dotEscape(string(s.Category)))
		}
		fmt.Fprintf(&b, "    %s [%s];\n", dotQuote(s.Name), attrs)
	}
	for _, e := range d.edges() {
		style := ""
		if e.auto {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "    %s -> %s [label=\"%s\"%s];\n", dotQuote(e.from), dotQuote(e.to), dotEscape(e.label), style)
	}
	b.WriteString("}\n")
	return b.String()
}

type edge struct {
	from, to, label string
	auto            bool
}

// edges expands the transitions (including "*") into drawn edges, in
// transition order then stage order.
func (d Definition) edges() []edge {
	var out []edge
	for _, t := range d.Transitions {
		label := t.Name
		if t.Auto {
			label += " [auto: " + strings.TrimSpace(t.Guard) + "]"
		} else if t.Guard != "" {
			label += " [if " + strings.TrimSpace(t.Guard) + "]"
		}
		if len(t.Reasons) > 0 {
			label += " (reason)"
		}
		toRank := -1
		fwd := d.forwardRanks()
		for i, s := range d.Stages {
			if s.Name == t.To {
				toRank = i
			}
		}
		for _, f := range t.From {
			if f != "*" {
				out = append(out, edge{f, t.To, label, t.Auto})
				continue
			}
			for i, s := range d.Stages {
				if s.Terminal || i == toRank || (t.ForwardOnly && toRank >= 0 && fwd[i] >= fwd[toRank]) {
					continue
				}
				out = append(out, edge{s.Name, t.To, label, t.Auto})
			}
		}
	}
	return out
}

// mermaidID makes a stage name safe as a Mermaid state ID. The encoding is
// one-to-one, so distinct names never share an ID: letters and digits stay,
// "_" becomes "__" and any other rune "_x<hex>_".
func mermaidID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '_':
			b.WriteString("__")
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "_x%x_", r)
		}
	}
	if b.Len() == 0 {
		return "_x_"
	}
	return b.String()
}

// mermaidText escapes text for labels: Mermaid reads ':' and quotes
// specially, so they become entity codes; newlines become spaces.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", ":", "#58;", ";", "#59;", "\n", " ", "\r", " ").Replace(s)
}

func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "").Replace(s)
}

func dotQuote(s string) string { return `"` + dotEscape(s) + `"` }
