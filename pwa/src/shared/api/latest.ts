// One request at a time for a view (a list, a count, a preview, a search): starting one aborts the one before,
// and an answer that arrives after a newer request started is dropped, because an aborted fetch whose body was
// already read still resolves. Every console view that reloads as its inputs change goes through this.
export interface Latest {
  /** Aborts the request before, if any, and returns the new request's controller. */
  start(): AbortController
  /** Whether `ctl` is still the newest request: only its answer (and the end of its loading) may be shown. */
  current(ctl: AbortController): boolean
  /** Aborts the newest request (the view is going away): no answer is shown after this. */
  stop(): void
}

export function latest(): Latest {
  let inflight: AbortController | null = null
  return {
    start() {
      inflight?.abort()
      inflight = new AbortController()
      return inflight
    },
    current(ctl) {
      return inflight === ctl
    },
    stop() {
      inflight?.abort()
      inflight = null
    },
  }
}
