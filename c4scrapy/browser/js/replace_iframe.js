(iframe, {html, src, index}) => {
    const div = document.createElement('div');
    div.className = `extracted-iframe-content-${index}`;
    div.setAttribute('data-iframe-src', src);
    const doc = new DOMParser().parseFromString(html, 'text/html');
    div.append(...Array.from(doc.body.childNodes));
    iframe.replaceWith(div);
}
