/*
 * pki.h - a throw-away PKI for a test's TLS server and client, made with
 * the openssl command: a CA, and certificates it signs.
 */
#ifndef TL_PKI_H
#define TL_PKI_H

/* the openssl program, or NULL when it is not installed */
const char *tl_pki_openssl(void);
/* in dir: <name>-ca.pem and <name>-ca.key, a self-signed CA (CN
 * jibril-test-<name>-ca, 2 days); 0, or -1 with the failed step on stderr */
int tl_pki_ca(const char *dir, const char *name);
/* in dir: <name>.pem and <name>.key (mode 0600), CN=localhost, for
 * localhost and 127.0.0.1, server and client use, signed by <ca>-ca;
 * 0 or -1 as above */
int tl_pki_cert(const char *dir, const char *ca, const char *name);

#endif
