/**
 * Hostile lines for the redactor, each with the secrets that must not
 * survive it, and ordinary lines that must come out unchanged (fail2ban
 * style: the sample beside its expected result). Part is written out by
 * hand, part generated: every secret key through every wrapping (nested in
 * another parameter at one to three levels of percent-encoding, hex of
 * either case, an encoded key, quotes, brackets, `+` for spaces, JSON,
 * logfmt, a header), so the tests cover the class, not a list of examples.
 */

export interface Hostile {
  line: string;
  /** Substrings that must not appear in the redacted line. */
  secrets: string[];
  /** Substrings that must still be there (the line stays readable). */
  keep?: string[];
}

/** Percent-encodes every character outside the unreserved set (as encodeURIComponent), hex upper or lower case. */
export function enc(s: string, lower = false): string {
  const e = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return lower ? e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) : e;
}
const encN = (s: string, n: number, lower = false) => {
  let out = s;
  for (let i = 0; i < n; i++) out = enc(out, lower);
  return out;
};
/** Every character percent-encoded (`token` -> `%74%6F%6B%65%6E`). */
const encAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');

const REQ = (path: string) => `203.0.113.9:51234 [25/Nov/2026:10:00:00.123] fe_https~ be_app/app1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {shop.test|Mozilla/5.0} "GET ${path} HTTP/1.1" rip=203.0.113.9 rid=550e8400-e29b-41d4-a716-446655440000`;

export const SECRET_KEYS = [
  'token', 'access_token', 'refresh_token', 'id_token', 'api_key', 'apiKey', 'APIKEY', 'key', 'password', 'passwd', 'pwd',
  'secret', 'client_secret', 'code', 'auth_code', 'session', 'sessionid', 'PHPSESSID', 'jsessionid', 'auth', 'signature',
  'X-Amz-Signature', 'X-Amz-Credential', 'sig', 'otp', 'csrf_token', 'user[password]', 'private_key', 'jwt', 'sid',
];

function generated(): Hostile[] {
  const out: Hostile[] = [];
  let n = 0;
  for (const k of SECRET_KEYS) {
    const v = () => `Zq${(n++).toString(36)}Xv9Lm2Pw`;
    const add = (line: string, secret: string, keep: string[] = []) => out.push({ line, secrets: [secret], keep });
    let s: string;
    s = v(); add(REQ(`/p?${k}=${s}&page=2`), s, ['page=2', '203.0.113.9']);
    s = v(); add(REQ(`/p?a=1;${k}=${s}`), s, ['a=1']);
    s = v(); add(`${k}=${s}&user=bob`, s, ['user=bob']);
    for (const depth of [1, 2, 3]) {
      for (const lower of [false, true]) {
        s = v(); add(REQ(`/login?next=${encN(`/cb?x=1&${k}=${s}&y=2`, depth, lower)}&lang=en`), s, ['lang=en']);
      }
    }
    s = v(); add(REQ(`/oauth?redirect_uri=${enc(`https://app.example/cb?${k}=${s}`)}&state=abc`), s, ['state=abc']);
    s = v(); add(REQ(`/p?${encAll(k)}=${s}`), s);
    s = v(); add(REQ(`/p?${encAll(k)}${encAll('=')}${s}`), s);
    s = v(); add(REQ(`/p?${k}="${s}"&z=1`), s, ['z=1']);
    s = v(); add(REQ(`/p?${k}='${s}'`), s);
    s = v(); add(REQ(`/p?${k}=%22${s}%22`), s);
    s = v(); add(REQ(`/p?${k}=%27${s}%27`), s);
    s = v(); add(REQ(`/p?${k}=[${s}]`), s);
    s = v(); add(REQ(`/p?${k}=(${s})`), s);
    s = v(); add(REQ(`/p?${k}={${s}}`), s);
    s = v(); add(REQ(`/p?${k}=<${s}>`), s);
    s = v(); add(REQ(`/p?q=hello+world&${k}=pre+${s}+post`), s, ['q=hello+world']);
    s = v(); add(`{"level":"info","${k}":"${s}","msg":"ok"}`, s, ['"msg":"ok"']);
    s = v(); add(`{"level":"info","${k}" : "with space ${s}","n":1}`, s, ['"n":1']);
    s = v(); add(`{"log":"{\\"${k}\\":\\"${s}\\"}"}`, s);
    s = v(); add(`{"url":"/cb?${k}=${s}\\u0026x=1"}`, s);
    s = v(); add(`level=warn ${k}=${s} msg="login failed"`, s, ['msg="login failed"']);
    s = v(); add(`request header ${k}: ${s}`, s);
  }
  return out;
}

const AWS = 'AKIAIOSFODNN7EXAMPLE';
const AWS_TMP = 'ASIAY34FZKBOKMUTVV7A';
const STRIPE = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
const STRIPE_T = 'sk_test_26PHem9AhJZvU623DfE1x4sd';
const STRIPE_R = 'rk_live_51H8abcDEFghiJKLmnoPQ';
const GHP = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';
const GHO = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';
const GHS = 'ghs_abcdefghijklmnopqrstuvwxyz0123456789';
const GH_PAT = 'github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const SLACK = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
const SLACK_P = 'xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const ANTHROPIC = 'sk-ant-api03-AbCdEf0123456789_ghIJklMNopQRstUVwxYZ-0123456789abcdef';
const OPENAI = 'sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90';
const RANDOM_SEG = 'q8ZfK2xLp0WmN4vR7tB9cYhD3jS6gUeA';
const HEX_SEG = '8f14e45fceea167a5a36dedd4bea2543';
const EMAIL = 'alice.smith+shop@example.co.uk';

const HAND: Hostile[] = [
  // The measured misses of the old prompt redactor.
  { line: REQ('/login?next=%2Flogin%3Ftoken%3DhunterToken42'), secrets: ['hunterToken42'], keep: ['next=%2Flogin%3Ftoken%3D'] },
  { line: REQ('/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fcode%3DSplxlOBeZQQYbYS6WxSbIA&client_id=app'), secrets: ['SplxlOBeZQQYbYS6WxSbIA'], keep: ['client_id=app'] },
  { line: REQ(`/reset/${GHP}/confirm`), secrets: [GHP], keep: ['/reset/', '/confirm'] },
  { line: REQ('/x?token="quoted-secret-1"'), secrets: ['quoted-secret-1'] },
  { line: REQ('/x?token=%22quoted-secret-2%22'), secrets: ['quoted-secret-2'] },
  { line: REQ('/x?token=%2522quoted-secret-3%2522'), secrets: ['quoted-secret-3'] },
  // Mixed-case hex in one line, triple encoding.
  { line: REQ('/go?u=%25252Fa%25253fTOKEN%25253Dtriple-enc-7%252526b%25253D1'), secrets: ['triple-enc-7'] },
  { line: REQ('/go?u=%2fa%3Fpassword%3dmixed-Case-8%26b%3D1'), secrets: ['mixed-Case-8'] },
  // Shapes anywhere.
  { line: REQ(`/api?k=${AWS}`), secrets: [AWS] },
  { line: `aws sts creds ${AWS_TMP} expired`, secrets: [AWS_TMP], keep: ['expired'] },
  { line: REQ(`/charge?stripe=${STRIPE}`), secrets: [STRIPE] },
  { line: `{"msg":"charge failed","key_used":"${STRIPE_T}"}`, secrets: [STRIPE_T] },
  { line: `restricted ${STRIPE_R} used`, secrets: [STRIPE_R] },
  { line: `git clone https://${GHO}@github.com/org/repo`, secrets: [GHO] },
  { line: REQ(`/hook/${GHS}`), secrets: [GHS] },
  { line: `push with ${GH_PAT} rejected`, secrets: [GH_PAT] },
  { line: `slack post failed token ${SLACK}`, secrets: [SLACK] },
  { line: REQ(`/slack?t=${enc(SLACK)}`), secrets: [SLACK, enc(SLACK)] },
  { line: `user ${SLACK_P}`, secrets: [SLACK_P] },
  { line: REQ(`/api/me?t=${JWT}`), secrets: [JWT, JWT.split('.')[2]!] },
  { line: `{"msg":"bad","jwt_in_text":"Bearer ${JWT}"}`, secrets: [JWT] },
  { line: `anthropic call with ${ANTHROPIC} failed`, secrets: [ANTHROPIC] },
  { line: `openai ${OPENAI}`, secrets: [OPENAI] },
  { line: REQ(`/share/${RANDOM_SEG}/view`), secrets: [RANDOM_SEG], keep: ['/share/', '/view'] },
  { line: REQ(`/reset/${HEX_SEG}`), secrets: [HEX_SEG] },
  { line: REQ(`/reset/550e8400-e29b-41d4-a716-446655441111`), secrets: ['446655441111'] },
  { line: REQ(`/go?next=${enc(`/reset/${RANDOM_SEG}`)}`), secrets: [RANDOM_SEG] },
  { line: REQ(`/download/${GHP}?x=1`), secrets: [GHP] },
  // Headers: HAProxy's captured block has values without names; JSON logs have fields.
  { line: '203.0.113.9:1 [25/Nov/2026:10:00:00.123] fe be/s 0/0/1/2/3 200 1 - - ---- 1/1/0/0/0 0/0 {shop.test|Bearer abc.def-ghi_jkl0} "GET / HTTP/1.1"', secrets: ['abc.def-ghi_jkl0'], keep: ['shop.test'] },
  { line: '{shop.test|Basic dXNlcjpwYXNzd29yZA==} "GET / HTTP/1.1"', secrets: ['dXNlcjpwYXNzd29yZA=='] },
  { line: '{Mozilla|Cookie: sid=abc123; remember=rEmEmBeR99; theme=dark} "GET / HTTP/1.1"', secrets: ['abc123', 'rEmEmBeR99', 'theme=dark'] },
  { line: 'Set-Cookie: SESS=xyzSess77; Path=/; HttpOnly', secrets: ['xyzSess77'] },
  { line: 'Authorization: Bearer opaque-Token-99', secrets: ['opaque-Token-99'] },
  { line: 'Proxy-Authorization: Basic cHJveHk6cGFzcw==', secrets: ['cHJveHk6cGFzcw=='] },
  { line: '{"level":"error","headers":{"authorization":"Bearer hdrTok3n","cookie":"a=1; session=s3ss10n","x-api-key":"xApiK3y"}}', secrets: ['hdrTok3n', 's3ss10n', 'xApiK3y'], keep: ['"level":"error"'] },
  { line: '{"req":{"headers":{"Set-Cookie":["id=c00kieVal; Secure"]}}}', secrets: ['c00kieVal'] },
  { line: 'proxy to https://admin:pa55w0rd@internal.example/x', secrets: ['pa55w0rd'] },
  { line: 'db=postgres://app:dbPassw0rd@10.0.0.5:5432/shop', secrets: ['dbPassw0rd'] },
  // Emails, plain and encoded.
  { line: `{"user":"${EMAIL}","ok":true}`, secrets: [EMAIL], keep: ['"ok":true'] },
  { line: REQ(`/u?email=${enc(EMAIL)}`), secrets: [EMAIL, enc(EMAIL), 'alice.smith'] },
  { line: REQ(`/u?email=${encN(EMAIL, 2)}`), secrets: ['alice.smith'] },
  { line: 'mail to bob@corp.example.org bounced', secrets: ['bob@corp.example.org'], keep: ['bounced'] },
  // A private key pasted into a log.
  { line: '-----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEA7bq98-----END RSA PRIVATE KEY-----', secrets: ['MIIEowIBAAKCAQEA7bq98'] },
  // Delimiters: values that start with a delimiter, escapes inside quotes.
  { line: '{"user":"bob","password":"p\\"w0rd","ok":true}', secrets: ['w0rd'], keep: ['"ok":true', '"user":"bob"'] },
  { line: "secret='single q'", secrets: ['single q'] },
  { line: 'password: `backtick`', secrets: ['backtick'] },
  { line: 'token=\\"escaped-quote-val\\" next', secrets: ['escaped-quote-val'] },
  // Markers written by an attacker do not shield what follows them.
  { line: REQ('/x?token=[REDACTED:param]stillSecret'), secrets: ['stillSecret'] },
];

export const HOSTILE: Hostile[] = [...HAND, ...generated()];

/** Lines with no secret: they must come out exactly as they went in. */
export const ORDINARY: string[] = [
  REQ('/static/app.min.js'),
  REQ('/products?id=42&page=2&sort=price_asc'),
  REQ('/search?q=hello+world&lang=en&author=bob&keyword=shoes&monkey=1'),
  REQ('/blog/how-to-configure-haproxy-for-production-use'),
  REQ('/api/v1/users/12345/orders?limit=50&offset=100'),
  REQ('/wp-content/plugins/contact-form-7/includes/js/scripts.js?ver=5.7.1'),
  REQ('/images/logo@2x.png'),
  REQ('/npm/@babel/core@7.22.0/lib/index.js'),
  REQ('/files/report_2024_01_15_final_version.pdf'),
  REQ('/java/com.example.MyServiceImplementationFactory'),
  REQ('/orders/12345678901234567890'),
  REQ('/.env'),
  REQ('/cgi-bin/../../etc/passwd'),
  REQ('/index.php?id=1%27%20OR%20%271%27=%271'),
  '<134>Nov 25 10:00:00 lb haproxy[1234]: 192.0.2.10:54321 [25/Nov/2026:10:00:00.123] fe be/<NOSRV> -1/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"',
  '[WARNING]  (1234) : Server be_app/app1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms.',
  '2001:db8::7 at 10:20:30 from 192.0.2.1:443',
  '2026-11-25T10:00:00.123Z ERROR payment failed status_code=502 error_code=E42 country_code=DE order=991',
  '{"time":"2026-11-25T10:00:00Z","level":"error","msg":"session expired, please log in","status":401}',
  'Basic authentication failed for user alice',
  'invalid Token expired',
  'cache key miss',
  'user@localhost denied',
];
