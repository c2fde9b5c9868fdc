package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

var (
	firstNames  = []string{"Ada", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kara", "Liam", "Mei", "Nina", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Yara", "Zoe"}
	lastNames   = []string{"Adams", "Becker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hoffmann", "Ito", "Jensen", "Kumar", "Lopez", "Martin", "Nakamura", "Olsen", "Patel", "Rossi", "Schmidt", "Tanaka", "Novak", "Wang", "Young", "Zhang"}
	nameA       = []string{"Blue", "Bright", "Cedar", "Delta", "Ever", "Falcon", "Granite", "Harbor", "Iron", "Juniper", "Keystone", "Lumen", "Maple", "North", "Orbit", "Pine", "Quartz", "River", "Summit", "Terra"}
	nameB       = []string{"Analytics", "Systems", "Logistics", "Health", "Labs", "Foods", "Energy", "Capital", "Software", "Robotics", "Media", "Works"}
	industries  = []string{"software", "finance", "retail", "healthcare", "manufacturing", "logistics", "education", "media"}
	countries   = []string{"US", "US", "US", "GB", "DE", "FR", "NL", "CA", "AU", "IN"}
	departments = []string{"marketing", "sales", "it", "engineering", "finance", "operations"}
	freeMail    = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"}
	techs       = []string{"salesforce", "hubspot", "marketo", "snowflake", "aws", "gcp", "azure", "zendesk", "slack"}
	titles      = map[string]string{"individual": "Specialist", "manager": "Manager", "director": "Director", "vp": "VP", "c_level": "Chief"}
)

// account holds an account's firmographics, drawn from its own stream so
// that every lead of the account sees the same company.
func (s *Sim) accountRand(j int) *rand.Rand {
	return rand.New(rand.NewPCG(s.cfg.Seed^streamAccount, uint64(j)))
}

// accountSize is the size band of account j (the first draw of its
// stream).
func (s *Sim) accountSize(j int) int {
	return pick(s.accountRand(j), s.sizeCum)
}

func (s *Sim) company(j int) leadkit.Company {
	r := s.accountRand(j)
	band := s.cfg.Sizes[pick(r, s.sizeCum)]
	name := nameA[r.IntN(len(nameA))] + " " + nameB[r.IntN(len(nameB))] + " " + strconv.Itoa(j)
	emp := band.Min + r.IntN(band.Max-band.Min+1)
	c := leadkit.Company{
		Name:      name,
		Domain:    strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example",
		Industry:  industries[r.IntN(len(industries))],
		Country:   countries[r.IntN(len(countries))],
		Employees: emp,
		Revenue:   math.Round(float64(emp) * 150000 * math.Exp(0.5*r.NormFloat64())),
	}
	for _, t := range techs {
		if r.IntN(4) == 0 {
			c.TechStack = append(c.TechStack, t)
		}
	}
	return c
}

// makeLead draws the lead's person (from the lead's stream, after its
// plan) and joins the account's company.
func (s *Sim) makeLead(l *lead) *leadkit.Lead {
	r := l.r
	c := &s.cfg
	co := s.company(l.account)
	first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	sen := c.Seniority[l.sen].Value
	dept := departments[r.IntN(len(departments))]
	p := leadkit.Person{
		FirstName:  first,
		LastName:   last,
		Seniority:  sen,
		Department: dept,
		Country:    co.Country,
	}
	if t, ok := titles[sen]; ok {
		p.Title = t + " " + strings.ToUpper(dept[:1]) + dept[1:]
	}
	local := strings.ToLower(first) + "." + strings.ToLower(last) + strconv.Itoa(l.idx)
	if r.Float64() < *c.FreeMailShare {
		p.Email = local + "@" + freeMail[r.IntN(len(freeMail))]
	} else {
		p.Email = local + "@" + co.Domain
	}
	l.hasPhone = r.Float64() >= *c.NoPhoneShare
	if l.hasPhone {
		p.Phone = phone(l.idx)
	}
	l.dup = r.Float64() < *c.DuplicateShare
	source := ""
	if len(l.touches) > 0 {
		source = s.chans[l.touches[0].ch].name
	}
	return &leadkit.Lead{
		ID:        l.id,
		AccountID: "acct-" + strconv.Itoa(l.account),
		CreatedAt: time.Unix(l.created, 0).UTC(),
		Source:    source,
		Person:    p,
		Company:   co,
	}
}

// idStyle is what identities a channel sees.
type idStyle uint8

const (
	idNone    idStyle = iota // known people only (nurture email): no observation
	idDevice                 // web channels: a cookie and the subject ID
	idEmail                  // registrations and downloads: an email, the second address of a duplicate person
	idContact                // events and lists: email and phone
)

func styleOf(channel string) idStyle {
	switch channel {
	case ChannelEmail:
		return idNone
	case ChannelWebsite, ChannelSocial, ChannelPaidSearch:
		return idDevice
	case ChannelOfflineEvent, ChannelPurchasedList:
		return idContact
	}
	return idEmail
}

func contentsOf(channel string) []string {
	switch channel {
	case ChannelWebsite:
		return []string{"/", "/pricing", "/product", "/customers", "/blog/lead-scoring"}
	case ChannelSocial:
		return []string{"/blog/b2b-funnel", "/blog/attribution", "/events"}
	case ChannelPaidSearch:
		return []string{"/lp/demo", "/lp/pricing"}
	case ChannelContent:
		return []string{"whitepaper-lead-scoring", "ebook-b2b-funnel", "report-benchmarks"}
	case ChannelWebinar:
		return []string{"webinar-scoring-101", "webinar-pipeline-review"}
	case ChannelOfflineEvent:
		return []string{"trade-show", "roundtable", "meetup"}
	case ChannelEmail:
		return []string{"newsletter", "product-update", "case-study"}
	case ChannelPurchasedList:
		return []string{"list-intro", "list-offer", "list-case-study"}
	}
	return []string{""}
}

// observe is the observation channel ch makes of the lead at its first
// touch there.
func (s *Sim) observe(l *lead, ch int, at int64) *Observation {
	p := l.profile
	o := &Observation{
		ID:       l.id + "-o" + strconv.Itoa(ch),
		Channel:  s.chans[ch].name,
		Campaign: s.chans[ch].campaigns[s.month(at)],
		Touch:    true,
		Lead:     l.id,
		Company:  p.Company.Clone(),
		Person:   p.Person.Clone(),
	}
	email := p.Person.Email
	device := Identity{"device", "dev-" + strconv.FormatUint(splitmix(s.cfg.Seed^uint64(l.idx)), 16)}
	switch s.chans[ch].identity {
	case idDevice:
		o.Identities = []Identity{device, {"subject", l.id}}
		o.Person.Email, o.Person.Phone = "", ""
	case idEmail:
		if l.dup {
			email = strings.ToLower(p.Person.FirstName+p.Person.LastName) + strconv.Itoa(l.idx) + "@gmail.com"
			o.Person.Email = email
		}
		// The form is filled in on the website: the browser's cookie comes
		// with the address, which links the person's anonymous visits to
		// it (and a duplicate's second address to them).
		o.Identities = []Identity{{"email", email}, device}
		o.Person.Phone = ""
	case idContact:
		o.Identities = []Identity{{"email", email}}
		if p.Person.Phone != "" {
			o.Identities = append(o.Identities, Identity{"phone", p.Person.Phone})
		}
	}
	return o
}

// splitmix is the SplitMix64 finaliser: a fixed scramble of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// phoneAreas are real US area codes; with 800 exchanges and 10,000 lines
// each, they number 80M people apart, over MaxLeads.
var phoneAreas = [...]string{"212", "312", "415", "617", "646", "718", "202", "305", "404", "206"}

// phone is person idx's phone number: one per person (two people sharing
// one would be one identity in the pool, which then refuses to merge two
// leads), valid in the North American numbering plan.
func phone(idx int) string {
	const perArea = 800 * 10000
	rest := idx % perArea
	return "+1" + phoneAreas[idx/perArea%len(phoneAreas)] + strconv.Itoa(200+rest/10000) + fmt.Sprintf("%04d", rest%10000)
}
