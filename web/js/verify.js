// Checking a claim against the tamper-evident log in the browser, as
// `factlog verify claim` does (README, "Tamper-evident log"): every event
// of the claim is encoded again as the deterministic protobuf bytes the
// server hashed (domain/merkle.h, CanonicalEventBytes), hashed as an RFC
// 6962 leaf with WebCrypto's SHA-256, and its inclusion proof must lead to
// the root of the current log head. Nothing the server says is trusted
// without the hashes agreeing.
import {get, enc} from './api.js';

// ---- the canonical encoding, from the server's descriptors --------------

let schemaPromise = null;

function loadSchema() {
  if (!schemaPromise) {
    schemaPromise = get('schema').then((set) => {
      const messages = new Map();
      const enums = new Map();
      const walk = (prefix, list, enumList) => {
        for (const e of enumList || []) {
          enums.set(`${prefix}.${e.name}`,
                    new Map((e.value || []).map((v) => [v.name, v.number || 0])));
        }
        for (const m of list || []) {
          const name = `${prefix}.${m.name}`;
          messages.set(name, m);
          walk(name, m.nestedType, m.enumType);
        }
      };
      for (const file of set.file) {
        walk(file.package ? `.${file.package}` : '', file.messageType,
             file.enumType);
      }
      return {messages, enums};
    });
  }
  return schemaPromise;
}

// protobuf's lowerCamelCase JSON name of a field.
function jsonName(field) {
  return field.jsonName ||
      field.name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

class Writer {
  constructor() { this.bytes = []; }
  varint(value) {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      this.bytes.push(byte);
    } while (v);
  }
  tag(number, wire) { this.varint((number << 3) | wire); }
  raw(array) { for (const b of array) this.bytes.push(b); }
  fixed(value, size) {
    let v = BigInt.asUintN(size * 8, BigInt(value));
    for (let i = 0; i < size; ++i) {
      this.bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
  }
}

const VARINT = new Set(['TYPE_INT32', 'TYPE_INT64', 'TYPE_UINT32',
                        'TYPE_UINT64', 'TYPE_BOOL', 'TYPE_ENUM']);

function timestampFields(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/
      .exec(text);
  if (!m) throw new Error(`not a timestamp: ${text}`);
  let seconds = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000);
  if (m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1n : 1n;
    seconds -= sign * BigInt(+m[8].slice(1, 3) * 3600 + +m[8].slice(4) * 60);
  }
  const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
  return {seconds, nanos};
}

function base64Bytes(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function isDefault(value) {
  return value === 0 || value === '0' || value === '' || value === false ||
      (Array.isArray(value) && value.length === 0);
}

function scalar(w, field, value, schema) {
  switch (field.type) {
    case 'TYPE_ENUM': {
      const number = typeof value === 'number' ? value
          : schema.enums.get(field.typeName).get(value);
      if (number === undefined) throw new Error(`unknown enum ${value}`);
      w.varint(BigInt.asUintN(64, BigInt(number)));
      return;
    }
    case 'TYPE_BOOL': w.varint(value ? 1 : 0); return;
    case 'TYPE_INT32': case 'TYPE_INT64': case 'TYPE_UINT32':
    case 'TYPE_UINT64':
      w.varint(BigInt.asUintN(64, BigInt(value)));
      return;
    case 'TYPE_FIXED64': case 'TYPE_SFIXED64': w.fixed(value, 8); return;
    case 'TYPE_FIXED32': case 'TYPE_SFIXED32': w.fixed(value, 4); return;
    default: throw new Error(`cannot encode ${field.type}`);
  }
}

function wireType(field) {
  if (VARINT.has(field.type)) return 0;
  if (['TYPE_FIXED64', 'TYPE_SFIXED64', 'TYPE_DOUBLE'].includes(field.type)) return 1;
  if (['TYPE_FIXED32', 'TYPE_SFIXED32', 'TYPE_FLOAT'].includes(field.type)) return 5;
  return 2;
}

// The deterministic protobuf encoding of `json` (canonical proto3 JSON) as
// message `typeName`, as an array of bytes.
export function encodeMessage(typeName, json, schema) {
  const w = new Writer();
  if (typeName === '.google.protobuf.Timestamp') {
    const {seconds, nanos} = timestampFields(json);
    if (seconds) { w.tag(1, 0); w.varint(BigInt.asUintN(64, seconds)); }
    if (nanos) { w.tag(2, 0); w.varint(nanos); }
    return w.bytes;
  }
  const descriptor = schema.messages.get(typeName);
  if (!descriptor) throw new Error(`no descriptor for ${typeName}`);
  const fields = [...(descriptor.field || [])].sort((a, b) => a.number - b.number);
  const known = new Set(fields.map(jsonName));
  for (const key of Object.keys(json)) {
    if (!known.has(key)) throw new Error(`${typeName} has no field ${key}`);
  }
  for (const field of fields) {
    const value = json[jsonName(field)];
    if (value === undefined || value === null) continue;
    const explicit = field.oneofIndex !== undefined || field.proto3Optional ||
        field.type === 'TYPE_MESSAGE';
    const repeated = field.label === 'LABEL_REPEATED';
    if (!explicit && !repeated && isDefault(value)) continue;
    const values = repeated ? value : [value];
    if (repeated && values.length === 0) continue;
    if (repeated && wireType(field) !== 2) {
      const packed = new Writer();
      for (const v of values) scalar(packed, field, v, schema);
      w.tag(field.number, 2);
      w.varint(packed.bytes.length);
      w.raw(packed.bytes);
      continue;
    }
    for (const v of values) {
      if (field.type === 'TYPE_STRING' || field.type === 'TYPE_BYTES' ||
          field.type === 'TYPE_MESSAGE') {
        const bytes = field.type === 'TYPE_STRING'
            ? new TextEncoder().encode(v)
            : field.type === 'TYPE_BYTES' ? base64Bytes(v)
            : encodeMessage(field.typeName, v, schema);
        w.tag(field.number, 2);
        w.varint(bytes.length);
        w.raw(bytes);
      } else {
        w.tag(field.number, wireType(field));
        scalar(w, field, v, schema);
      }
    }
  }
  return w.bytes;
}

// ---- RFC 6962 hashing ----------------------------------------------------

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { data.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}
const leafHash = (bytes) => sha256([0], bytes);
const nodeHash = (left, right) => sha256([1], left, right);

export function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// The root an inclusion proof leads to (RFC 9162, 2.1.3.2), or null when
// the path cannot belong to a tree of `treeSize` leaves.
export async function rootFromInclusion(leafIndex, treeSize, leaf, path) {
  if (leafIndex >= treeSize) return null;
  let fn = BigInt(leafIndex), sn = BigInt(treeSize - 1);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Checks every event of `claimId` up to the current head. Resolves to
// {ok, text, events, head}: `text` says what was checked, or what failed.
export async function verifyClaim(claimId) {
  const schema = await loadSchema();
  const head = await get('log/head');
  const treeSize = Number(head.treeSize || 0);
  const root = base64Bytes(head.rootHash || '');
  const history = await get(`claims/${enc(claimId)}/history`);
  const events = (history.events || [])
      .filter((e) => Number(e.position) <= treeSize);
  const rootText = hex(root).slice(0, 16);
  for (const event of events) {
    const proof = await get(`log/inclusion/${event.position}`,
                            {headPosition: treeSize});
    const bytes = Uint8Array.from(encodeMessage('.factlog.v1.Event', event, schema));
    const leaf = await leafHash(bytes);
    const path = (proof.path || []).map(base64Bytes);
    const computed = await rootFromInclusion(Number(event.position) - 1,
                                             treeSize, leaf, path);
    if (computed === null || !equal(computed, root)) {
      return {ok: false, events: events.length, head,
              text: `NOT verified: the event at position ${event.position} ` +
                  `(version ${event.version}) does not hash into head ` +
                  `${treeSize} (root ${rootText}…) with its inclusion proof`};
    }
  }
  const signed = head.signature ? 'signed (signature not checked here; ' +
      'use factlog verify --public-key)' : 'unsigned';
  return {ok: true, events: events.length, head,
          text: `Verified in this browser: ${events.length} event(s) of this ` +
              `claim, each encoded as its canonical bytes and hashed with ` +
              `SHA-256 (RFC 6962), lead by their inclusion proofs to the root ` +
              `${rootText}… of log head ${treeSize} (${signed}).`};
}
