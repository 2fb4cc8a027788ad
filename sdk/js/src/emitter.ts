/** A small typed event emitter: `on` returns a function that removes the listener. */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(v: never) => void>>();

  on<K extends keyof Events>(event: K, fn: (v: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (v: never) => void);
    return () => this.off(event, fn);
  }

  off<K extends keyof Events>(event: K, fn: (v: Events[K]) => void): void {
    this.listeners.get(event)?.delete(fn as (v: never) => void);
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as (v: Events[K]) => void)(value);
      } catch (err) {
        // A listener's bug must not break delivery; surface it unhandled.
        queueMicrotask(() => { throw err; });
      }
    }
  }
}
