'use strict';
// Counters a test reads back through GET /__admin/stats, e.g. to check that a
// client re-sent at most one chunk per interruption:
//   per file: bytesReceived - size = bytes sent more than once.
class Stats {
  constructor() { this.reset(); }

  reset() {
    this.requests = {}; // kind -> count
    this.statuses = {}; // "kind status" -> count
    this.faults = {}; // action -> count
    this.upload = { bytesReceived: 0, bytesCommitted: 0, sessionsStarted: 0, sessionsCompleted: 0 };
    this.files = []; // one entry per file completed through an upload
  }

  request(kind) { this.requests[kind] = (this.requests[kind] || 0) + 1; }
  status(kind, code) { const k = `${kind} ${code}`; this.statuses[k] = (this.statuses[k] || 0) + 1; }
  fault(action) { this.faults[action] = (this.faults[action] || 0) + 1; }
  received(n) { this.upload.bytesReceived += n; }
  committed(n) { this.upload.bytesCommitted += n; }

  // `info`: {id, name, size, uploadType, bytesReceived, chunks, interruptions}
  completedFile(info) {
    this.upload.sessionsCompleted += info.uploadType === 'resumable' ? 1 : 0;
    this.files.push(info);
  }

  snapshot() {
    return {
      requests: this.requests, statuses: this.statuses, faults: this.faults,
      upload: this.upload, files: this.files,
    };
  }
}

module.exports = { Stats };
