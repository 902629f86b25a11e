#!/usr/bin/env node
// Generates tests/data/webhook_vectors.json: webhook bodies signed exactly as PikaSim's
// reference snippet does it, crypto.createHmac('sha256', secret).update(JSON.stringify(payload))
// .digest('hex'). Run from the repository root:  node tests/data/make_webhook_vectors.js
// The JSON output is checked in; the Python tests never need node.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function sign(payload, secret) {
  return crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
}

const provisioned = {
  event: 'esim.provisioned',
  timestamp: '2024-01-15T10:30:00Z',
  data: {
    orderId: '65a4f8c9e1b2c3d4e5f60718',
    externalOrderId: 'tg-1001-1',
    packageCode: 'JP_7D_1GB',
    esim: {
      iccid: '8901234567890123456',
      qrCodeUrl: 'https://example.invalid/qr/8901234567890123456.png',
      activationCode: 'LPA:1$smdp.example.invalid$ABCD-1234',
      shortUrl: 'https://example.invalid/s/abc',
    },
  },
};

const vectors = [
  ['esim.provisioned', 'whsec_test', provisioned],
  ['esim.topup.completed', 'whsec_test', {
    event: 'esim.topup.completed',
    timestamp: '2024-01-16T08:00:00.123Z',
    data: {
      topupId: 'tu_01', iccid: '8901234567890123456', orderId: '65a4f8c9e1b2c3d4e5f60718',
      externalOrderId: 'tg-1001-2', packageCode: 'JP_TOPUP_1GB',
    },
  }],
  ['order.failed', 'whsec_test', {
    event: 'order.failed',
    timestamp: '2024-01-15T10:31:00Z',
    data: {
      orderId: '65a4f8c9e1b2c3d4e5f60719', externalOrderId: 'tg-1002-1',
      packageCode: 'EU_30D_10GB', reason: 'Provider out of stock', refundAmount: 1899,
    },
  }],
  ['webhook.test', 'whsec_test', {
    event: 'webhook.test', timestamp: '2024-01-15T10:00:00Z',
    data: { message: 'This is a test webhook from PikaSim' },
  }],
  ['non-ascii text', 'whsec_test', {
    event: 'order.failed',
    timestamp: '2024-02-01T00:00:00Z',
    data: {
      orderId: 'o-unicode',
      reason: 'Café São Paulo – Zürich — Ελληνικά, Русский, 日本語のテキスト, 中文, 한국어',
      emoji: '📶🇯🇵 ok 👍🏽 family 👨‍👩‍👧',
      separators: 'line\u2028separator and paragraph\u2029separator',
      controls: 'tab\tnewline\ncr\rnul\u0000bell\u0007esc\u001bdel\u007f',
      quotes: 'say "hi" \\ back\\slash / slash',
      bidi: 'עברית العربية',
      lone: 'x\ud800y\udfffz',
    },
  }],
  ['floats', 'whsec_test', {
    event: 'webhook.test',
    timestamp: '2024-02-02T00:00:00Z',
    data: {
      a: 0.1, b: 1e21, c: 1e-7, d: 5.0, e: 123.456, f: 0.1 + 0.2, g: -0, h: 1e300,
      i: 2 ** 53, j: 2 ** 53 + 2, k: 12345678901234567890, l: 1.5e-10, m: 0.000001,
      n: -123.456e-20, o: 1e20, p: 123456789012345680000, q: 5e-324, r: 1.7976931348623157e308,
      s: -1e21, t: 100, u: NaN, v: Infinity, w: 0.5,
    },
  }],
  ['key order and shapes', 'whsec_test', {
    event: 'webhook.test',
    timestamp: '2024-02-03T00:00:00Z',
    data: {
      zeta: 1, 10: 'ten', 2: 'two', alpha: [1, 'two', null, true, false, {}, []],
      '01': 'not an index', '-1': 'not an index either', 4294967295: 'too big for an index',
      4294967294: 'largest index', nested: { b: { c: [[], [{}], { d: null }] } },
      empty: '', '': 'empty key',
    },
  }],
  ['secret with non-ASCII', 'clé-secrète-🔑', provisioned],
  ['long secret', 'x'.repeat(200), provisioned],
];

const out = {
  generator: 'tests/data/make_webhook_vectors.js',
  node: process.version,
  algorithm: "crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')",
  vectors: vectors.map(([name, secret, payload]) => ({
    name,
    secret,
    body: JSON.stringify(payload),
    signature: sign(payload, secret),
  })),
};

const target = path.join(__dirname, 'webhook_vectors.json');
fs.writeFileSync(target, JSON.stringify(out, null, 2) + '\n', 'utf8');
console.log(`wrote ${out.vectors.length} vectors to ${target}`);
