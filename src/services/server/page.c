/*
 * page.c - the chat page served at /: one self-contained HTML file (no
 * external assets, no build step), so it works with no network. It talks
 * to /v1/chat/completions with streaming and shows tokens per second.
 * A start screen names the model loaded (the first /v1/models lists: the
 * generation model when there is one); a settings row
 * holds the system prompt and the temperature, both kept in the browser's
 * localStorage like the key.
 * The Content-Security-Policy forbids loading anything from elsewhere.
 */
#include <string.h>

#include "server/server.h"

static const char page[] =
"<!doctype html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>offgrid chat</title>\n"
"<style>\n"
"*{box-sizing:border-box}\n"
"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#1d2330;"
"display:flex;flex-direction:column;height:100vh}\n"
"header{display:flex;gap:12px;align-items:center;padding:10px 16px;background:#1d2330;color:#fff}\n"
"header h1{font-size:16px;margin:0;font-weight:600}\n"
"header .sp{flex:1}\n"
"header input{width:180px;padding:4px 6px;border-radius:4px;border:0;font:inherit;font-size:13px}\n"
"#model{font-size:13px;opacity:.8}\n"
"#log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:10px}\n"
".msg{max-width:80%;padding:8px 12px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}\n"
".user{align-self:flex-end;background:#2f6fed;color:#fff}\n"
".assistant{align-self:flex-start;background:#fff;border:1px solid #dde1e8}\n"
".error{align-self:center;background:#fde8e8;color:#8a1c1c;border:1px solid #f3b5b5}\n"
".stats{font-size:12px;color:#6b7385;align-self:flex-start;margin-top:-6px}\n"
"form{display:flex;gap:8px;padding:12px 16px;background:#fff;border-top:1px solid #dde1e8}\n"
"textarea{flex:1;resize:none;height:48px;padding:8px;font:inherit;border:1px solid #c8cdd8;border-radius:6px}\n"
"button{padding:0 18px;font:inherit;border:0;border-radius:6px;background:#2f6fed;color:#fff;cursor:pointer}\n"
"button:disabled{background:#9db6ea;cursor:default}\n"
"#settings{display:flex;gap:12px;align-items:flex-start;padding:8px 16px;background:#e9ecf2;"
"border-bottom:1px solid #dde1e8;font-size:13px}\n"
"#settings label{display:flex;gap:6px;align-items:center}\n"
"#settings .grow{flex:1}\n"
"#system{flex:1;height:34px;resize:vertical;padding:4px 6px;font:inherit;border:1px solid #c8cdd8;border-radius:4px}\n"
"#temp{width:64px;padding:4px;font:inherit;border:1px solid #c8cdd8;border-radius:4px}\n"
"#welcome{margin:auto;max-width:460px;text-align:center;color:#4a5263}\n"
"#welcome h2{font-size:20px;margin:0 0 8px;color:#1d2330}\n"
"#welcome b{word-break:break-all}\n"
"</style></head><body>\n"
"<header><h1>offgrid</h1><span id=\"model\"></span><span class=\"sp\"></span>\n"
"<label>API key <input id=\"key\" type=\"password\" autocomplete=\"off\" placeholder=\"(none)\"></label>\n"
"<button id=\"clear\" type=\"button\">New chat</button></header>\n"
"<div id=\"settings\"><label class=\"grow\">System prompt <textarea id=\"system\" "
"placeholder=\"(none) e.g. You are a concise assistant.\"></textarea></label>\n"
"<label>Temperature <input id=\"temp\" type=\"number\" min=\"0\" max=\"2\" step=\"0.1\" value=\"0.7\">"
"</label></div>\n"
"<div id=\"log\" aria-live=\"polite\"></div>\n"
"<form id=\"f\"><textarea id=\"in\" placeholder=\"Type a message; Enter sends, Shift+Enter for a new line\">"
"</textarea><button id=\"send\">Send</button></form>\n"
"<script>\n"
"'use strict';\n"
"const log=document.getElementById('log'),inp=document.getElementById('in'),send=document.getElementById('send');\n"
"const key=document.getElementById('key');\n"
"key.value=localStorage.getItem('offgrid-key')||'';\n"
"const sys=document.getElementById('system'),temp=document.getElementById('temp');\n"
"sys.value=localStorage.getItem('offgrid-system')||'';temp.value=localStorage.getItem('offgrid-temp')||'0.7';\n"
"sys.onchange=()=>localStorage.setItem('offgrid-system',sys.value);\n"
"temp.onchange=()=>localStorage.setItem('offgrid-temp',temp.value);\n"
"let modelText='(asking the server...)';\n"
"function welcome(){log.textContent='';const w=document.createElement('div');w.id='welcome';\n"
" const h=document.createElement('h2');h.textContent='offgrid chat';w.appendChild(h);\n"
" const p=document.createElement('p');p.append('Model loaded: ');const b=document.createElement('b');\n"
" b.id='welcome-model';b.textContent=modelText;p.appendChild(b);w.appendChild(p);\n"
" const q=document.createElement('p');q.textContent='It runs on this machine: nothing you type leaves it. '+\n"
"'Set a system prompt and the temperature above, then type below.';w.appendChild(q);log.appendChild(w);}\n"
"function showModel(t){modelText=t;document.getElementById('model').textContent=t;\n"
" const b=document.getElementById('welcome-model');if(b)b.textContent=t;}\n"

"let history=[];\n"
"const maxTokens=parseInt(new URLSearchParams(location.search).get('max_tokens'))||512;\n"
"function headers(){const h={'Content-Type':'application/json'};if(key.value)h.Authorization='Bearer '+key.value;"
"return h;}\n"
"function add(cls,text){const d=document.createElement('div');d.className='msg '+cls;d.textContent=text;"
"log.appendChild(d);log.scrollTop=log.scrollHeight;return d;}\n"
"function models(){fetch('/v1/models',{headers:headers()}).then(r=>{if(r.status===401)"
"throw new Error('enter the API key (top right) to see it');return r.json();}).then(j=>{\n"
" const d=(j.data||[])[0];showModel(d?d.id:'none');}).catch(e=>showModel(String(e.message||e)));}\n"
"welcome();models();key.onchange=()=>{localStorage.setItem('offgrid-key',key.value);models();};\n"
"document.getElementById('clear').onclick=()=>{history=[];welcome();};\n"
"inp.addEventListener('keydown',e=>{if(e.key==='Enter'&&!e.shiftKey){e.preventDefault();"
"document.getElementById('f').requestSubmit();}});\n"
"document.getElementById('f').onsubmit=async e=>{\n"
" e.preventDefault();const text=inp.value.trim();if(!text||send.disabled)return;\n"
" const w=document.getElementById('welcome');if(w)w.remove();\n"
" inp.value='';send.disabled=true;add('user',text);history.push({role:'user',content:text});\n"
" const out=add('assistant','');out.classList.add('streaming');\n"
" const t0=performance.now();let first=0,n=0,answer='',usage=null;\n"
" try{\n"
"  const r=await fetch('/v1/chat/completions',{method:'POST',headers:headers(),body:JSON.stringify({"
"messages:(sys.value.trim()?[{role:'system',content:sys.value.trim()}]:[]).concat(history),"
"temperature:Math.min(2,Math.max(0,parseFloat(temp.value)||0)),"
"max_tokens:maxTokens,stream:true,stream_options:{include_usage:true}})});\n"
"  if(!r.ok){let m=r.status+' '+r.statusText;try{m=(await r.json()).error.message;}catch(_){}throw new Error(m);}\n"
"  const rd=r.body.getReader(),dec=new TextDecoder();let buf='';\n"
"  for(;;){const {value,done}=await rd.read();if(done)break;buf+=dec.decode(value,{stream:true});\n"
"   let i;while((i=buf.indexOf('\\n\\n'))>=0){const ev=buf.slice(0,i);buf=buf.slice(i+2);\n"
"    if(!ev.startsWith('data: '))continue;const d=ev.slice(6);if(d==='[DONE]')continue;\n"
"    const j=JSON.parse(d);if(j.error)throw new Error(j.error.message);if(j.usage)usage=j.usage;\n"
"    const c=j.choices&&j.choices[0]&&j.choices[0].delta&&j.choices[0].delta.content;\n"
"    if(c){if(!first)first=performance.now();n++;answer+=c;out.textContent=answer;log.scrollTop=log.scrollHeight;}}}\n"
"  history.push({role:'assistant',content:answer});\n"
"  const toks=usage?usage.completion_tokens:n,secs=(performance.now()-(first||t0))/1000;\n"
"  const s=document.createElement('div');s.className='stats';\n"
"  s.textContent=toks+' tokens, '+(secs>0&&toks>1?((toks-1)/secs).toFixed(1):'-')+' tokens/s, first token after '"
"+(((first||performance.now())-t0)/1000).toFixed(2)+' s';\n"
"  log.appendChild(s);log.scrollTop=log.scrollHeight;\n"
" }catch(err){add('error',String(err.message||err));history.pop();}\n"
" finally{out.classList.remove('streaming');out.classList.add('done');send.disabled=false;inp.focus();}\n"
"};\n"
"</script></body></html>\n";

enum MHD_Result og_srv_page(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    (void)s;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof page - 1, (void *)page, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                            "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    return og_srv_queue(c, r, 200, resp);
}
