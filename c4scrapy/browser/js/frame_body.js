() => {
    const absolute = (value) => {
        try { return new URL(value, document.baseURI).href; } catch (e) { return value; }
    };
    for (const el of document.querySelectorAll('a[href], area[href]')) {
        el.setAttribute('href', absolute(el.getAttribute('href')));
    }
    for (const attr of ['src', 'poster', 'data-src', 'data-lazy-src', 'data-original']) {
        for (const el of document.querySelectorAll(`[${attr}]`)) {
            el.setAttribute(attr, absolute(el.getAttribute(attr)));
        }
    }
    for (const attr of ['srcset', 'data-srcset']) {
        for (const el of document.querySelectorAll(`[${attr}]`)) {
            const parts = el.getAttribute(attr).split(',').map(part => {
                const [url, ...rest] = part.trim().split(/\s+/);
                return url ? [absolute(url), ...rest].join(' ') : '';
            });
            el.setAttribute(attr, parts.filter(Boolean).join(', '));
        }
    }
    return document.body ? document.body.innerHTML : '';
}
