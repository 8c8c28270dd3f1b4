// opg console: live refresh of the page body and the exposure chart. No framework; served under a strict CSP.
;(() => {
  const money = (v, cur) => {
    try {
      const d = new Intl.NumberFormat('en', { style: 'currency', currency: cur }).resolvedOptions()
        .maximumFractionDigits
      return `${new Intl.NumberFormat('en', { minimumFractionDigits: d, maximumFractionDigits: d }).format(v / 10 ** d)} ${cur}`
    } catch {
      return `${v} ${cur}`
    }
  }

  function drawExposure() {
    const el = document.getElementById('exposure-chart')
    const data = document.getElementById('exposure-data')
    if (!el || !data || typeof uPlot === 'undefined') return
    const points = JSON.parse(data.textContent || '[]')
    el.textContent = ''
    if (points.length === 0) {
      const p = document.createElement('p')
      p.className = 'empty'
      p.textContent = 'No samples yet: the bridge records the exposure every minute.'
      el.appendChild(p)
      return
    }
    const currencies = [...new Set(points.map((p) => p.c))].sort()
    const times = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b)
    const idx = new Map(times.map((t, i) => [t, i]))
    const series = currencies.map(() => times.map(() => null))
    for (const p of points) series[currencies.indexOf(p.c)][idx.get(p.t)] = p.v
    const colors = ['#1f5fad', '#b54708', '#067647', '#6941c6']
    new uPlot(
      {
        width: Math.max(320, el.clientWidth - 16),
        height: 220,
        series: [
          {},
          ...currencies.map((cur, i) => ({
            label: `unsynced ${cur}`,
            stroke: colors[i % colors.length],
            width: 2,
            value: (_u, v) => (v == null ? '—' : money(v, cur)),
          })),
        ],
        axes: [{}, { values: (_u, ticks) => ticks.map((v) => money(v, currencies[0])), size: 90 }],
      },
      [times, ...series],
      el,
    )
  }

  async function refresh() {
    const main = document.querySelector('main[data-refresh]')
    if (!main || document.hidden) return
    try {
      const res = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } })
      if (!res.ok || res.redirected) return
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html')
      const next = doc.querySelector('main')
      if (next && !main.contains(document.activeElement)) {
        main.replaceWith(next)
        drawExposure()
      }
    } catch {
      // offline or the bridge restarting: try again at the next tick
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    drawExposure()
    const main = document.querySelector('main[data-refresh]')
    const every = Number(main?.getAttribute('data-refresh') || 0)
    if (every > 0) setInterval(refresh, every * 1000)
  })
})()
