/**
 * The service's own signed URL (embedded mode) names the address it was configured with; the page
 * may have reached it under another name (localhost vs 127.0.0.1, a proxy). Same service, so PUT to
 * the page's own origin. Pre-signed S3 URLs are left alone.
 */
export function uploadTarget(uploadUrl: string, origin: string): string {
  const url = new URL(uploadUrl, origin);
  if (/^\/uploads\/[^/]+$/.test(url.pathname) && url.searchParams.has('sig') && url.searchParams.has('exp')) return `${origin}${url.pathname}${url.search}`;
  return url.toString();
}
