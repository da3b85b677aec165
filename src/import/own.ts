/**
 * The machinery of a haproxy.cfg this project rendered itself (detected by
 * its `hm-default` backend): the lines templates/haproxy/*.njk write for
 * every configuration, whatever its sites, with only settings from
 * config.yaml (ports, timeouts, rate limits, paths) filled in. An import
 * leaves them out of the report because the daemon renders them again; the
 * round trip (test/unit/import-roundtrip.test.ts) proves that what remains
 * after the import renders to the same file.
 *
 * Contract: a line is machinery only when its section is one the templates
 * write and its words match one of that section's lines below exactly,
 * `<n>` standing for a number, `<w>` for one word (a path, an address, a
 * setting). Anything else in the daemon's own file (a line added by hand, a
 * construct the import does not read) is reported with its file and line.
 */
import type { Section } from './tokenize.js';

/** Section header (kind and name, `*` a name's variable part) -> its lines, as the words the tokenizer gives (quotes removed). */
const MACHINERY: [RegExp, string[]][] = [
  [
    /^global $/,
    [
      'log <w> len <n> format rfc5424 local0 info',
      'log <w> format raw local0 info',
      'log <w> local0',
      'maxconn <n>',
      'user <w>',
      'group <w>',
      'stats socket <w> mode 600 level admin expose-fd listeners',
      'stats timeout 30s',
      'noreuseport',
      'hard-stop-after <w>',
      'ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets',
      'ssl-default-server-options ssl-min-ver TLSv1.2',
      'tune.h2.fe.max-total-streams <n>',
      'tune.h2.fe.glitches-threshold <n>',
      'stats-file <w>',
    ],
  ],
  [
    /^ring hm_intake$/,
    ['description haproxy-manager log intake', 'format rfc5424', 'maxlen 4096', 'size <n>', 'timeout connect 2s', 'timeout server 10s', 'server daemon unix@<w>'],
  ],
  [/^resolvers system$/, ['parse-resolv-conf', 'resolve_retries 3', 'timeout resolve 1s', 'timeout retry 1s', 'hold valid 10s', 'hold obsolete 30s']],
  [
    // The HTTP defaults and the TCP services' defaults.
    /^defaults $/,
    [
      'log global',
      'option httplog',
      'option dontlognull',
      'option redispatch',
      'option idle-close-on-response',
      'retries 3',
      'maxconn <n>',
      'timeout http-request <w>',
      'timeout queue <w>',
      'timeout connect <w>',
      'timeout client <w>',
      'timeout server <w>',
      'timeout http-keep-alive <w>',
      'timeout check <w>',
      'timeout tarpit <w>',
      'unique-id-format %[uuid()]',
      'http-error status <n> content-type text/html; charset=utf-8 file <w>',
    ],
  ],
  [
    /^frontend web$/,
    [
      'bind <w>',
      'bind <w> ssl crt-list <w> alpn h2,http/1.1',
      'bind <w> accept-proxy ssl crt-list <w> alpn h2,http/1.1',
      'log-format %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r rip=%[var(txn.real_ip)] rid=%ID',
      'http-request capture req.hdr(Host) len 64',
      'http-request capture req.fhdr(User-Agent) len 200',
      'http-request capture req.fhdr(Referer) len 256',
      'acl from_trusted_proxy src -f <w>',
      'http-request del-header CF-Connecting-IP if !from_trusted_proxy',
      'http-request del-header X-Real-IP if !from_trusted_proxy',
      'http-request del-header X-Forwarded-For if !from_trusted_proxy',
      'http-request set-var(txn.real_ip) src',
      'http-request set-var(txn.real_ip) req.hdr_ip(CF-Connecting-IP,-1) if from_trusted_proxy { req.hdr_ip(CF-Connecting-IP,-1) -m found }',
      'http-request set-var(txn.rip_done) bool(1) if from_trusted_proxy { req.hdr_ip(CF-Connecting-IP,-1) -m found }',
      'http-request set-var(txn.real_ip) req.hdr_ip(X-Real-IP,-1) if from_trusted_proxy !{ var(txn.rip_done) -m bool } { req.hdr_ip(X-Real-IP,-1) -m found }',
      'http-request set-var(txn.rip_done) bool(1) if from_trusted_proxy { req.hdr_ip(X-Real-IP,-1) -m found }',
      'http-request set-var(txn.rip_walk) bool(1) if from_trusted_proxy !{ var(txn.rip_done) -m bool }',
      'http-request unset-var(txn.rip_cand)',
      'http-request set-var(txn.rip_cand) req.hdr_ip(X-Forwarded-For,-<n>) if { var(txn.rip_walk) -m bool }',
      'http-request unset-var(txn.rip_walk) if !{ var(txn.rip_cand) -m found }',
      'http-request set-var(txn.real_ip) var(txn.rip_cand) if { var(txn.rip_walk) -m bool }',
      'http-request unset-var(txn.rip_walk) if !{ var(txn.real_ip) -m ip -f <w> }',
      'acl real_ip_local var(txn.real_ip) -m ip -f <w>',
      'acl trusted_source src -f <w>',
      'acl trusted_real_ip var(txn.real_ip),map_ip(<w>,0) -m int gt 0',
      'acl acme_challenge path_beg /.well-known/acme-challenge/',
      'acl blocked_ip var(txn.real_ip),map_ip(<w>,0) -m int gt 0',
      'http-request return status 403 content-type text/html; charset=utf-8 file <w> hdr Cache-Control no-store if blocked_ip !acme_challenge',
      'stick-table type ipv6 size <w> expire <w> store conn_cur,conn_rate(10s),http_req_rate(10s),http_err_rate(30s)',
      'http-request track-sc0 var(txn.real_ip)',
      'http-request deny deny_status 429 if !real_ip_local !trusted_source !trusted_real_ip !acme_challenge { sc_http_req_rate(0) gt <n> }',
      'http-request tarpit deny_status 429 if !real_ip_local !trusted_source !trusted_real_ip !acme_challenge { sc_http_req_rate(0) gt <n> }',
      'http-request deny deny_status 429 if !real_ip_local !trusted_source !trusted_real_ip !acme_challenge { sc_conn_rate(0) gt <n> }',
      'http-request deny deny_status 429 if !real_ip_local !trusted_source !trusted_real_ip !acme_challenge { sc_conn_cur(0) gt <n> }',
      'http-request tarpit deny_status 403 if !real_ip_local !trusted_source !trusted_real_ip !acme_challenge { sc_http_err_rate(0) gt <n> }',
      'http-request set-header X-Real-IP %[var(txn.real_ip)]',
      'http-request set-header X-Forwarded-For %[var(txn.real_ip)]',
      'http-request set-header X-Client-IP %[var(txn.real_ip)]',
      'http-request del-header Forwarded',
      'http-request del-header True-Client-IP',
      'http-request set-header X-Forwarded-Proto https if { ssl_fc }',
      'http-request set-header X-Forwarded-Proto http if !{ ssl_fc }',
      'http-request set-header X-Request-Reference %[unique-id]',
      'use_backend hm-acme if acme_challenge',
      'default_backend hm-default',
    ],
  ],
  [/^backend hm-acme$/, ['server acme 127.0.0.1:<n>']],
  [/^backend hm-default$/, ['http-request return status <n> content-type text/html; charset=utf-8 file <w> hdr Cache-Control no-store']],
  [
    /^frontend hm-stats$/,
    ['bind 127.0.0.1:<n>', 'http-request set-log-level silent', 'http-request use-service prometheus-exporter if { path /metrics }', 'stats enable', 'stats uri /stats', 'stats refresh 30s'],
  ],
  [/^frontend hm-tls-sni$/, ['bind <w>', 'tcp-request inspect-delay 5s', 'tcp-request content accept if { req_ssl_hello_type 1 }', 'default_backend hm-tls-terminate', 'tcp-request content reject']],
  [/^backend hm-tls-terminate$/, ['timeout tunnel <w>', 'server web abns@hm-tls-<w> send-proxy-v2']],
  [/^backend \S+-tcp$/, ['tcp-request content reject if { src,map_ip(<w>,0) -m int gt 0 }']],
  [/^listen \S+-tcp$/, ['tcp-request connection reject if { src,map_ip(<w>,0) -m int gt 0 }']],
];

const PATTERNS: [RegExp, RegExp[]][] = MACHINERY.map(([section, lines]) => [
  section,
  lines.map((l) => new RegExp(`^${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<n>/g, '\\d+').replace(/<w>/g, '\\S+')}$`)),
]);

/** Sections whose header line is machinery too (the per-service ones carry a service: read, not machinery). */
const WHOLE = /^(global |defaults |ring hm_intake|resolvers system|frontend web|backend hm-acme|backend hm-default|frontend hm-stats|frontend hm-tls-sni|backend hm-tls-terminate)$/;

/** Whether `line` (of `section`, or the section's header itself) is the daemon's own machinery. */
export function isMachinery(section: Section, line: number): boolean {
  const key = `${section.kind} ${section.name}`;
  if (line === section.header.line) return WHOLE.test(key);
  const l = section.lines.find((x) => x.line === line);
  if (!l) return false;
  const text = l.words.join(' ');
  return PATTERNS.some(([s, lines]) => s.test(key) && lines.some((re) => re.test(text)));
}
