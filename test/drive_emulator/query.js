'use strict';
// A real parser for the subset of Drive's search query language ("q") that a
// backup tool uses. It compiles q into a predicate over file records; anything
// outside the subset is rejected the way Google rejects a bad query: 400,
// reason "invalid", message "Invalid Value", location "q".
//
// Grammar (keywords case-insensitive, as Google's are):
//   expr    := andExpr ('or' andExpr)*
//   andExpr := unary ('and' unary)*
//   unary   := 'not' unary | '(' expr ')' | term
//   term    := STRING 'in' 'parents'
//            | ('name' | 'mimeType') ('=' | '!=' | 'contains') STRING
//            | 'trashed' ('=' | '!=') ('true' | 'false')
//            | ('createdTime' | 'modifiedTime') ('=' | '!=' | '<' | '<=' | '>' | '>=') STRING
//            | ('appProperties' | 'properties') 'has' '{' 'key' '=' STRING 'and' 'value' '=' STRING '}'
// Strings are single-quoted; inside them \' and \\ are escapes.
const { invalidValue } = require('./http_util');

class QueryError extends Error {}

function tokenize(src) {
  const toks = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new QueryError('unterminated string');
        const ch = src[i];
        if (ch === '\\') {
          const nx = src[i + 1];
          if (nx !== "'" && nx !== '\\') throw new QueryError(`bad escape \\${nx}`);
          s += nx;
          i += 2;
        } else if (ch === "'") {
          i++;
          break;
        } else {
          s += ch;
          i++;
        }
      }
      toks.push({ t: 'str', v: s });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=') { toks.push({ t: 'op', v: two }); i += 2; continue; }
    if ('=<>(){}'.includes(c)) { toks.push({ t: 'op', v: c }); i++; continue; }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) throw new QueryError(`unexpected character ${c}`);
    toks.push({ t: 'word', v: m[0] });
    i += m[0].length;
  }
  return toks;
}

// Google's `contains` on names is a case-insensitive prefix match on the whole
// name or on any of its words ("HelloWorld" matches 'hello' but not 'world').
function nameContains(name, needle) {
  const n = name.toLowerCase();
  const w = needle.toLowerCase();
  if (n.startsWith(w)) return true;
  return n.split(/[^a-z0-9]+/).some((word) => word.startsWith(w));
}

function compare(a, op, b) {
  switch (op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    default: throw new QueryError(`operator ${op}`);
  }
}

class Parser {
  constructor(toks) { this.toks = toks; this.i = 0; }
  peek() { return this.toks[this.i]; }
  next() {
    const t = this.toks[this.i++];
    if (!t) throw new QueryError('unexpected end of query');
    return t;
  }
  isWord(w) { const t = this.peek(); return t && t.t === 'word' && t.v.toLowerCase() === w; }
  isOp(o) { const t = this.peek(); return t && t.t === 'op' && t.v === o; }
  expectWord(w) { if (!this.isWord(w)) throw new QueryError(`expected ${w}`); this.i++; }
  expectOp(o) { if (!this.isOp(o)) throw new QueryError(`expected ${o}`); this.i++; }
  expectStr() { const t = this.next(); if (t.t !== 'str') throw new QueryError('expected a string'); return t.v; }

  parse() {
    const e = this.expr();
    if (this.i !== this.toks.length) throw new QueryError('trailing input');
    return e;
  }
  expr() {
    let l = this.andExpr();
    while (this.isWord('or')) { this.i++; const a = l; const b = this.andExpr(); l = (f) => a(f) || b(f); }
    return l;
  }
  andExpr() {
    let l = this.unary();
    while (this.isWord('and')) { this.i++; const a = l; const b = this.unary(); l = (f) => a(f) && b(f); }
    return l;
  }
  unary() {
    if (this.isWord('not')) { this.i++; const e = this.unary(); return (f) => !e(f); }
    if (this.isOp('(')) { this.i++; const e = this.expr(); this.expectOp(')'); return e; }
    return this.term();
  }
  term() {
    const t = this.next();
    if (t.t === 'str') {
      this.expectWord('in');
      this.expectWord('parents');
      const id = t.v;
      return (f) => f.parents.includes(id);
    }
    if (t.t !== 'word') throw new QueryError('expected a term');
    const field = t.v; // field names are case-sensitive in Drive
    switch (field) {
      case 'name':
      case 'mimeType': {
        const op = this.next();
        if (op.t === 'word' && op.v === 'contains') {
          const v = this.expectStr();
          return field === 'name' ? (f) => nameContains(f.name, v) : (f) => f.mimeType.includes(v);
        }
        if (op.t !== 'op' || (op.v !== '=' && op.v !== '!=')) throw new QueryError(`operator for ${field}`);
        const v = this.expectStr();
        return (f) => compare(f[field], op.v, v);
      }
      case 'trashed': {
        const op = this.next();
        if (op.t !== 'op' || (op.v !== '=' && op.v !== '!=')) throw new QueryError('operator for trashed');
        const b = this.next();
        if (b.t !== 'word' || !['true', 'false'].includes(b.v)) throw new QueryError('trashed needs true|false');
        const v = b.v === 'true';
        return (f) => compare(f.trashed, op.v, v);
      }
      case 'createdTime':
      case 'modifiedTime': {
        const op = this.next();
        if (op.t !== 'op' || !['=', '!=', '<', '<=', '>', '>='].includes(op.v)) throw new QueryError('time operator');
        const ms = Date.parse(this.expectStr());
        if (Number.isNaN(ms)) throw new QueryError('bad time');
        return (f) => compare(Date.parse(f[field]), op.v, ms);
      }
      case 'appProperties':
      case 'properties': {
        this.expectWord('has');
        this.expectOp('{');
        this.expectWord('key');
        this.expectOp('=');
        const k = this.expectStr();
        this.expectWord('and');
        this.expectWord('value');
        this.expectOp('=');
        const v = this.expectStr();
        this.expectOp('}');
        return (f) => Object.prototype.hasOwnProperty.call(f[field], k) && f[field][k] === v;
      }
      default:
        throw new QueryError(`unsupported field ${field}`);
    }
  }
}

// Returns a predicate; throws the Drive 400 for anything it does not understand.
function compileQuery(q) {
  if (q === null || q === undefined || q.trim() === '') return () => true;
  try {
    return new Parser(tokenize(q)).parse();
  } catch (e) {
    if (e instanceof QueryError) throw invalidValue('q');
    throw e;
  }
}

module.exports = { compileQuery, nameContains };
