package pool

import (
	"strings"

	"github.com/leadkit/leadkit/internal/lang"
)

// FreeMailDomains lists the domains of free e-mail providers, lower-case:
// an address at one of them is not a business address. It is data, not a
// rule: pass your own additions to [IsFreeMail] rather than changing this
// list.
var FreeMailDomains = []string{
	// Google, Microsoft, Yahoo, Apple, AOL.
	"gmail.com", "googlemail.com",
	"outlook.com", "outlook.de", "outlook.fr", "outlook.es", "outlook.it", "outlook.jp",
	"hotmail.com", "hotmail.co.uk", "hotmail.de", "hotmail.fr", "hotmail.es", "hotmail.it",
	"live.com", "live.co.uk", "live.de", "live.fr", "live.nl", "live.cn", "msn.com", "windowslive.com",
	"yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it", "yahoo.ca",
	"yahoo.com.au", "yahoo.com.br", "yahoo.co.in", "yahoo.co.jp", "yahoo.com.hk", "yahoo.com.tw",
	"yahoo.com.sg", "yahoo.com.cn", "ymail.com", "rocketmail.com",
	"icloud.com", "me.com", "mac.com",
	"aol.com", "aim.com", "verizon.net",
	// Privacy-minded and independent providers.
	"proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de",
	"tuta.io", "tuta.com", "posteo.de", "posteo.net", "mailbox.org", "fastmail.com", "fastmail.fm",
	"hushmail.com", "runbox.com", "zoho.com", "zohomail.com", "mail.com", "email.com",
	"inbox.com", "duck.com",
	// Europe.
	"gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.fr", "web.de", "t-online.de",
	"freenet.de", "arcor.de", "online.de", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net",
	"sfr.fr", "libero.it", "virgilio.it", "tiscali.it", "alice.it", "btinternet.com",
	"sky.com", "virginmedia.com", "talktalk.net", "ntlworld.com", "blueyonder.co.uk",
	"seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "abv.bg",
	"bluewin.ch", "telenet.be", "skynet.be", "home.nl", "ziggo.nl", "planet.nl", "kpnmail.nl",
	// Russia and neighbours.
	"mail.ru", "inbox.ru", "list.ru", "bk.ru", "yandex.ru", "yandex.com", "ya.ru",
	"rambler.ru", "ukr.net", "i.ua",
	// China.
	"qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "vip.163.com", "vip.126.com",
	"188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com", "189.cn",
	"wo.cn", "aliyun.com", "tom.com", "21cn.com",
	// Korea, Japan, rest of Asia.
	"naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com",
	"docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp", "i.softbank.jp", "nifty.com",
	"rediffmail.com",
	// Americas, Oceania.
	"comcast.net", "att.net", "sbcglobal.net", "bellsouth.net", "charter.net", "cox.net",
	"earthlink.net", "optonline.net", "juno.com", "bol.com.br", "uol.com.br", "terra.com.br",
	"ig.com.br", "prodigy.net.mx", "shaw.ca", "rogers.com", "sympatico.ca",
	"bigpond.com", "optusnet.com.au", "xtra.co.nz",
}

// EmailDomain returns the lower-cased domain of an e-mail address ("" when
// email has no @), read the way the expression function domain reads it.
func EmailDomain(email string) string {
	if !strings.Contains(email, "@") {
		return ""
	}
	return lang.Domain(email)
}

// IsFreeMail reports whether email is at a free e-mail provider: its
// domain is in [FreeMailDomains] or in extra (compared ignoring case, a
// leading "@" and a trailing dot). An address without a domain is not.
func IsFreeMail(email string, extra []string) bool {
	d := strings.TrimSuffix(EmailDomain(email), ".")
	if d == "" {
		return false
	}
	for _, f := range FreeMailDomains {
		if d == f {
			return true
		}
	}
	for _, f := range extra {
		if d == NormalizeDomain(f) {
			return true
		}
	}
	return false
}

// NormalizeDomain reads a listed domain the way [IsFreeMail] compares
// them: trimmed, lower-cased, without a leading "@" or a trailing dot.
func NormalizeDomain(d string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(d), "@"), "."))
}
