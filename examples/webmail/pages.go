package main

import (
	"bytes"
	"html/template"
	"net/http"
)

// A page is what a template shows. html/template escapes every value for
// where it lands (text, attribute, URL), so a subject such as
// "<script>…" arrives as text, never as markup.
type page struct {
	Title  string
	User   string // the user's address; empty on the login page
	CSRF   string // the session's token, for the POST forms
	Error  string
	Notice string

	Login   string // the user name typed, shown again after a failure
	List    []summary
	Letter  *letter
	Draft   draft
	Sending string // the From: of the compose page
}

const layout = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}} – web mail</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; padding: 0 1em; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .2em .5em; border-bottom: 1px solid #ddd; }
tr.unseen td { font-weight: bold; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: 1em; }
.error { color: #a00; } .notice { color: #070; }
header form { display: inline; }
</style>
</head>
<body>
{{if .User}}<header>{{.User}} · <a href="/inbox">Inbox</a> · <a href="/compose">Compose</a> ·
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Log out</button></form></header>{{end}}
<h1>{{.Title}}</h1>
{{with .Error}}<p class="error">{{.}}</p>{{end}}
{{with .Notice}}<p class="notice">{{.}}</p>{{end}}
{{template "content" .}}
</body>
</html>
`

var pageTexts = map[string]string{
	"login": `{{define "content"}}
<form method="post" action="/login">
<p><label>User <input name="user" value="{{.Login}}" autocomplete="username" required autofocus></label></p>
<p><label>Mail password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>Log in</button></p>
</form>
{{end}}`,

	"inbox": `{{define "content"}}
{{if .List}}<table>
<tr><th></th><th>From</th><th>Subject</th><th>Date</th><th>Size</th></tr>
{{range .List}}<tr{{if not .Seen}} class="unseen"{{end}}>
<td>{{if not .Seen}}●{{end}}</td><td>{{.From}}</td><td><a href="/message/{{.UID}}">{{.Subject}}</a></td><td>{{.Date}}</td><td>{{.Size}}</td>
</tr>
{{end}}</table>
{{else}}<p>No messages.</p>{{end}}
{{end}}`,

	"message": `{{define "content"}}{{with .Letter}}
<table>
<tr><th>From</th><td>{{.From}}</td></tr>
<tr><th>To</th><td>{{.To}}</td></tr>
{{with .Cc}}<tr><th>Cc</th><td>{{.}}</td></tr>{{end}}
<tr><th>Date</th><td>{{.Date}}</td></tr>
</table>
{{with .Note}}<p class="notice">{{.}}</p>{{end}}
{{if .Text}}<pre>{{.Text}}</pre>{{end}}
{{with .Attachments}}<h2>Attachments</h2>
<ul>{{range .}}<li>{{.Name}} ({{.Type}}, {{.Size}})</li>{{end}}</ul>{{end}}
{{end}}{{end}}`,

	"compose": `{{define "content"}}
<form method="post" action="/send">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p>From: {{.Sending}}</p>
<p><label>To <input name="to" value="{{.Draft.To}}" size="60" required></label></p>
<p><label>Subject <input name="subject" value="{{.Draft.Subject}}" size="60"></label></p>
<p><textarea name="body" rows="15" cols="72">{{.Draft.Body}}</textarea></p>
<p><button>Send</button></p>
</form>
{{end}}`,

	"error": `{{define "content"}}<p><a href="/inbox">Back to the inbox</a></p>{{end}}`,
}

// parsePages makes one template per page, each the layout with its own
// "content".
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout").Parse(layout))
	pages := make(map[string]*template.Template, len(pageTexts))
	for name, text := range pageTexts {
		pages[name] = template.Must(template.Must(base.Clone()).Parse(text))
	}
	return pages
}

// render writes a page with status code. It executes the template into a
// buffer first, so that a failure gives a 500 rather than half a page.
func (f *frontend) render(w http.ResponseWriter, code int, name string, p *page) {
	var b bytes.Buffer
	if err := f.pages[name].Execute(&b, p); err != nil {
		f.errorLog.Printf("webmail: page %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
