/**
 * A real nginx for tests, running deploy/nginx/engineroom.conf with its upstream servers and
 * listen address replaced: bench/nginx.js, which the bench's cluster scenario runs too.
 */
export {
  NGINX_CONF,
  nginxBinary,
  startNginx,
  templateSiteConfig,
  testNginxConf,
  writeNginxConf,
  type NginxProcess,
} from '../../bench/nginx.js'

/** nginx is required (a skip is a failure) when ER_REQUIRE_NGINX=1, as in .ci/run. */
export const nginxRequired = process.env.ER_REQUIRE_NGINX === '1'
