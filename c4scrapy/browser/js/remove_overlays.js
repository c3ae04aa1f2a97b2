() => {
    const body = document.body;
    if (!body) return 0;
    const vw = window.innerWidth, vh = window.innerHeight;
    const pageText = Math.max((body.innerText || '').length, 1);
    const KNOWN = [
        '#onetrust-consent-sdk', '#onetrust-banner-sdk', '#CybotCookiebotDialog',
        '#usercentrics-root', '#didomi-host', '.qc-cmp2-container', '.fc-consent-root',
        '#cookie-law-info-bar', '.cc-window', '#cmpbox', '#cmpwrapper', '.truste_box_overlay',
        '[aria-modal="true"]', 'dialog[open]',
    ].join(',');
    const HINT = new RegExp(
        'cookie|consent|gdpr|ccpa|privacy-banner|modal|popup|pop-up|overlay|backdrop|' +
        'lightbox|newsletter|subscribe|paywall|interstitial|dialog', 'i');
    const TEXT_HINT = /\b(cookies?|consent|gdpr)\b/i;
    const keep = (el) => el === body || el === document.documentElement ||
        (el.innerText || '').length > pageText * 0.5;
    const named = (el) => HINT.test([
        el.id, typeof el.className === 'string' ? el.className : '',
        el.getAttribute('role') || '', el.getAttribute('aria-label') || '',
    ].join(' '));
    const isNav = (el) => /^(HEADER|NAV)$/.test(el.tagName) || el.querySelector('nav') !== null;
    const doomed = new Set();
    for (const el of document.querySelectorAll(KNOWN)) {
        if (!keep(el)) doomed.add(el);
    }
    for (const el of body.querySelectorAll('*')) {
        const style = getComputedStyle(el);
        const z = parseInt(style.zIndex, 10) || 0;
        const floating = style.position === 'fixed' ||
            (style.position === 'absolute' && z >= 1000);
        if (!floating || style.display === 'none' || style.visibility === 'hidden') continue;
        if (keep(el)) continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const covers = box.width >= vw * 0.9 && box.height >= vh * 0.9;
        const talksCookies = TEXT_HINT.test((el.innerText || '').slice(0, 2000));
        if (covers || named(el) || talksCookies || (z >= 1000 && !isNav(el))) doomed.add(el);
    }
    let removed = 0;
    for (const el of doomed) {
        let ancestor = el.parentElement, nested = false;
        while (ancestor) {
            if (doomed.has(ancestor)) { nested = true; break; }
            ancestor = ancestor.parentElement;
        }
        if (!nested) removed += 1;
    }
    for (const el of doomed) el.remove();
    for (const el of [document.documentElement, body]) {
        if (getComputedStyle(el).overflow.includes('hidden')) el.style.overflow = 'visible';
    }
    return removed;
}
