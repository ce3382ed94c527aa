// AWS Signature Version 4 for the console's API calls, in plain JavaScript.
//
// SHA-256 and HMAC are implemented here rather than taken from crypto.subtle, which browsers
// only offer in a secure context (https or localhost); an operator may well open the console
// over plain http on a private address. Synchronous, dependency-free, and loadable by node
// (module.exports) so the test suite can check it against AWS's published test vectors.
(function (root) {
  'use strict';

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  // SHA-256 of a Uint8Array (FIPS 180-4).
  function sha256(bytes) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var bitLength = bytes.length * 8;
    var padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[bytes.length] = 0x80;
    var view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
    view.setUint32(padded.length - 4, bitLength >>> 0);
    var w = new Array(64);
    for (var off = 0; off < padded.length; off += 64) {
      for (var i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (i = 16; i < 64; i++) {
        var x = w[i - 15], y = w[i - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var ch = (e & f) ^ (~e & g);
        var t1 = (k + S1 + ch + K[i] + w[i]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var maj = (a & b) ^ (a & c) ^ (b & c);
        var t2 = (S0 + maj) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    var out = new Uint8Array(32);
    var outView = new DataView(out.buffer);
    for (i = 0; i < 8; i++) outView.setUint32(i * 4, h[i] >>> 0);
    return out;
  }

  // HMAC-SHA256 (RFC 2104); key and message are Uint8Arrays or strings (UTF-8).
  function hmac(key, message) {
    if (typeof key === 'string') key = utf8(key);
    if (typeof message === 'string') message = utf8(message);
    if (key.length > 64) key = sha256(key);
    var inner = new Uint8Array(64 + message.length);
    var outer = new Uint8Array(64 + 32);
    for (var i = 0; i < 64; i++) {
      var b = i < key.length ? key[i] : 0;
      inner[i] = b ^ 0x36;
      outer[i] = b ^ 0x5c;
    }
    inner.set(message, 64);
    outer.set(sha256(inner), 64);
    return sha256(outer);
  }

  function hex(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  }

  // RFC 3986 encoding as AWS wants it: everything but A-Z a-z 0-9 - _ . ~ is escaped.
  function uriEncode(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  // `path` is the path as sent (labels already escaped once); like the AWS SDKs for every
  // service but S3, the canonical URI escapes each segment once more.
  function canonicalUri(path) {
    if (!path) return '/';
    return path.split('/').map(uriEncode).join('/');
  }

  // `query` is the raw query string as sent (without '?'): decode, re-escape strictly, sort.
  function canonicalQuery(query) {
    if (!query) return '';
    var pairs = query.split('&').filter(function (p) { return p.length > 0; }).map(function (p) {
      var eq = p.indexOf('=');
      var k = eq < 0 ? p : p.slice(0, eq);
      var v = eq < 0 ? '' : p.slice(eq + 1);
      return [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))];
    });
    pairs.sort(function (a, b) {
      if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
      return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
    });
    return pairs.map(function (p) { return p[0] + '=' + p[1]; }).join('&');
  }

  // 2015-08-30T12:36:00.000Z -> 20150830T123600Z
  function amzDate(date) {
    return date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  }

  // Signs one request. `req`: {method, path, query, host, body, region, service,
  // accessKeyId, secretAccessKey, sessionToken?, date?}. Returns the headers to add:
  // X-Amz-Date, Authorization and (with a session token) X-Amz-Security-Token. Signed
  // headers are host and x-amz-date (plus the token), which is all SigV4 requires.
  function sign(req) {
    var stamp = amzDate(req.date || new Date());
    var day = stamp.slice(0, 8);
    var headers = { 'host': req.host, 'x-amz-date': stamp };
    if (req.sessionToken) headers['x-amz-security-token'] = req.sessionToken;
    var names = Object.keys(headers).sort();
    var canonicalHeaders = names.map(function (n) {
      return n + ':' + String(headers[n]).trim().replace(/\s+/g, ' ') + '\n';
    }).join('');
    var signedHeaders = names.join(';');
    var body = req.body == null ? '' : req.body;
    var payloadHash = hex(sha256(typeof body === 'string' ? utf8(body) : body));
    var canonicalRequest = [
      req.method.toUpperCase(),
      canonicalUri(req.path),
      canonicalQuery(req.query || ''),
      canonicalHeaders,
      signedHeaders,
      payloadHash
    ].join('\n');
    var scope = day + '/' + req.region + '/' + req.service + '/aws4_request';
    var stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, hex(sha256(utf8(canonicalRequest)))].join('\n');
    var kDate = hmac('AWS4' + req.secretAccessKey, day);
    var kRegion = hmac(kDate, req.region);
    var kService = hmac(kRegion, req.service);
    var kSigning = hmac(kService, 'aws4_request');
    var signature = hex(hmac(kSigning, stringToSign));
    var out = {
      'X-Amz-Date': stamp,
      'Authorization': 'AWS4-HMAC-SHA256 Credential=' + req.accessKeyId + '/' + scope +
        ', SignedHeaders=' + signedHeaders + ', Signature=' + signature
    };
    if (req.sessionToken) out['X-Amz-Security-Token'] = req.sessionToken;
    return out;
  }

  var api = {
    sha256: sha256,
    hmac: hmac,
    hex: hex,
    utf8: utf8,
    uriEncode: uriEncode,
    canonicalUri: canonicalUri,
    canonicalQuery: canonicalQuery,
    sign: sign
  };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.SigV4 = api;
})(typeof window !== 'undefined' ? window : this);
