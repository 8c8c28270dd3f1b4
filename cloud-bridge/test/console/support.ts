/** Helpers for console tests: sign in through the form, keep the cookie, read the CSRF token off a page. */
import type { ApiApp } from '../../src/api/app.js'

export interface Browser {
  cookie: string | null
  get(path: string): Promise<Response>
  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>
  /** The CSRF token of the signed-in page at `path`. */
  csrf(path?: string): Promise<string>
}

/** A cookie-keeping client of the console over `app.request()`, at `origin`. */
export function browser(app: ApiApp, origin = 'http://127.0.0.1'): Browser {
  const b: Browser = {
    cookie: null,
    async get(path) {
      const res = await app.request(`${origin}${path}`, { headers: b.cookie ? { cookie: b.cookie } : {} })
      keep(res)
      return res
    },
    async post(path, form, headers = {}) {
      const res = await app.request(`${origin}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin,
          ...(b.cookie ? { cookie: b.cookie } : {}),
          ...headers,
        },
        body: new URLSearchParams(form).toString(),
      })
      keep(res)
      return res
    },
    async csrf(path = '/console/fleet') {
      const html = await (await b.get(path)).text()
      const m = /name="csrf" value="([^"]+)"/.exec(html)
      if (!m) throw new Error(`no csrf token on ${path}`)
      return m[1]!
    },
  }
  function keep(res: Response) {
    const set = res.headers.get('set-cookie')
    if (!set) return
    const [pair] = set.split(';')
    b.cookie = pair && !pair.endsWith('=') ? pair : null
  }
  return b
}

/** Sign in with `key`; returns the browser and the sign-in response. */
export async function signedIn(
  app: ApiApp,
  key: string,
  origin?: string,
): Promise<{ b: Browser; res: Response }> {
  const b = browser(app, origin)
  const res = await b.post('/console/login', { key })
  return { b, res }
}
