/*
 * network.c - detections on the peers a task connected to (flows).
 */
#include <string.h>
#include <sys/socket.h>

#include "detect.h"

static int port_in(uint16_t port, const uint16_t *ports)
{
	for (int i = 0; ports[i]; i++)
		if (port == ports[i])
			return 1;
	return 0;
}

static int egress(const struct jb_flow *f)
{
	return f->dir == JB_FLOW_EGRESS;
}

static int cloud_metadata_access(const struct jb_task *t, const struct jb_flow *f)
{
	static const uint8_t v4_aws[4] = {169, 254, 169, 254};
	static const uint8_t v4_alibaba[4] = {100, 100, 100, 200};
	/* fd00:ec2::254 */
	static const uint8_t v6_aws[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
					   0,    0,    0,    0,    0, 0, 0x02, 0x54};
	const uint8_t *v4 = wrk_flow_v4(f);

	if (!egress(f))
		return 0;
	if (v4)
		return !memcmp(v4, v4_aws, 4) || !memcmp(v4, v4_alibaba, 4);
	return f->family == AF_INET6 && !memcmp(f->daddr, v6_aws, 16);
}

static int stratum_port_access(const struct jb_task *t, const struct jb_flow *f)
{
	/* common mining-pool (stratum) ports */
	static const uint16_t ports[] = {3333, 5555, 7777, 14433, 14444, 45560, 45700, 0};
	return egress(f) && port_in(f->dport, ports);
}

static int suspicious_port_access(const struct jb_task *t, const struct jb_flow *f)
{
	/* default ports of reverse-shell handlers and IRC botnets */
	static const uint16_t ports[] = {4444, 4445, 1337, 31337, 6666, 6667, 0};
	return egress(f) && port_in(f->dport, ports);
}

static const struct wrk_def defs[] = {
	{"cloud_metadata_access", "Cloud metadata service access", "high", "credential_access",
	 "T1552.005 Unsecured Credentials: Cloud Instance Metadata API",
	 "A process connected to a cloud instance metadata address", NULL, NULL,
	 cloud_metadata_access, NULL},
	{"stratum_port_access", "Mining pool port access", "medium", "impact",
	 "T1496 Resource Hijacking",
	 "A process connected to a port that mining pools (stratum) use", NULL, NULL,
	 stratum_port_access, NULL},
	{"suspicious_port_access", "Reverse shell port access", "medium", "command_and_control",
	 "T1571 Non-Standard Port",
	 "A process connected to a port that reverse-shell handlers and IRC bots use", NULL,
	 NULL, suspicious_port_access, NULL},
};

const struct wrk_mechanism wrk_network = {"network", WRK_SRC_FLOWS, defs,
					  sizeof(defs) / sizeof(defs[0])};
