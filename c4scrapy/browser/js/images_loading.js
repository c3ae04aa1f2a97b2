() => Array.from(document.images)
    .filter(img => img.loading !== 'lazy' && (img.currentSrc || img.src) && !img.complete)
    .length
