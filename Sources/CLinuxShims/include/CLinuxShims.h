// Small wrappers for what Swift's Glibc module does not import: setns, cmsg macros,
// IP_PKTINFO / IP_TTL control messages, TCP MD5 and GTSM socket options.
#ifndef LSR_CLINUXSHIMS_H
#define LSR_CLINUXSHIMS_H

#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// Enters the network namespace of `path` (e.g. /run/netns/NAME) on the calling thread.
int lsr_enter_namespace(const char *path);

/// A UDP socket bound to 0.0.0.0:port with SO_REUSEADDR, IP_PKTINFO and IP_RECVTTL on.
int lsr_udp_socket(uint16_t port);
/// Joins (join != 0) or leaves a multicast group (host order) on an interface by index.
int lsr_multicast_membership(int fd, uint32_t group, int ifindex, int join);

/// Receives one datagram: the source address and port, the destination address, the
/// arrival interface index and the IP TTL. Returns the length or -1 (errno set).
ssize_t lsr_recv_datagram(int fd, uint8_t *buffer, size_t capacity, uint32_t *source, uint16_t *sourcePort,
                          uint32_t *destination, int *ifindex, int *ttl);

/// Sends one datagram from `source` (0: any) out of `ifindex` (0: by route) with `ttl` and TOS 0xC0.
ssize_t lsr_send_datagram(int fd, const uint8_t *buffer, size_t length, uint32_t destination, uint16_t port,
                          uint32_t source, int ifindex, int ttl);

/// RFC 2385 TCP MD5 key for peer `address` (host order) on a socket; an empty key removes it.
int lsr_set_tcp_md5(int fd, uint32_t address, const char *key, int keyLength);

/// The TCP_MD5SIG option value for peer `address` (host order); keyLength 0 removes the key.
struct tcp_md5sig lsr_make_md5sig(uint32_t address, const char *key, int keyLength);
/// Option names Swift does not see as constants.
int lsr_tcp_md5sig_option(void);
int lsr_ip_minttl_option(void);

/// RFC 5082 GTSM: send with TTL 255 and drop anything that arrives with less (IP_MINTTL).
int lsr_set_gtsm(int fd, int enable);

/// An AF_PACKET TPACKET_V2 receive ring for MPLS unicast frames (ethertype 0x8847) on one
/// interface, and the socket to send out of it. Own transmissions are ignored.
struct lsr_ring;
/// Most frames one lsr_ring_send_batch call takes.
#define LSR_RING_BATCH 64
/// Creates the socket with protocol 0, sets up `frameCount` receive slots and
/// `transmitFrameCount` transmit slots of `frameSize` octets (all rounded up), then binds to
/// 0x8847 + ifindex (so no frame of another interface leaks in). `frameCount` 0: a socket that
/// only transmits; `transmitFrameCount` 0: transmission by sendmmsg. NULL on error (errno set).
struct lsr_ring *lsr_ring_open(int ifindex, unsigned frameSize, unsigned frameCount, unsigned transmitFrameCount);
int lsr_ring_fd(const struct lsr_ring *ring);
/// A receive ring on TUN device `ifindex` (opened as `tunFd`) of the IP packets the kernel sends
/// into it: read without a system call per packet. Attaches a filter to the TUN queue that
/// takes nothing, so the packets are not also queued there (they count as the device's
/// tx_dropped). Writes to `tunFd` are unaffected. NULL on error (errno set).
struct lsr_ring *lsr_tun_ring_open(int tunFd, int ifindex, unsigned frameSize, unsigned frameCount);
/// The next received frame, or 0 when the ring holds none now. The frame is at
/// `slot + start ..< slot + start + length` in a slot of `capacity` octets that the caller may
/// rewrite in place (and transmit from) until lsr_ring_release.
/// A receive ring on a customer-facing interface taking the IPv4 unicast frames addressed to
/// this host, before the kernel routes them: a tcx program then drops those frames in the
/// kernel, so only the ring's reader forwards them (it hands back what it does not push).
/// The drop goes with the ring (lsr_ring_close) or the process. Needs Linux 6.6 (tcx).
struct lsr_ring *lsr_ingress_ring_open(int ifindex, unsigned frameSize, unsigned frameCount, unsigned transmitFrameCount);
int lsr_ring_next(struct lsr_ring *ring, uint8_t **slot, uint32_t *capacity, uint32_t *start, uint32_t *length);
/// Gives every slot lsr_ring_next handed out back to the kernel.
void lsr_ring_release(struct lsr_ring *ring);
/// Sends whole Ethernet frames out of the ring's interface: copied into the transmit ring and
/// sent with one sendto, or (without a transmit ring) up to LSR_RING_BATCH of them with one
/// sendmmsg. Returns how many were taken.
int lsr_ring_send_batch(struct lsr_ring *ring, uint8_t *const *frames, const uint32_t *lengths, unsigned count);
/// Frames skipped because they did not fit a slot.
uint64_t lsr_ring_truncated(const struct lsr_ring *ring);
/// Frames the kernel dropped because the ring was full (running total). Not thread-safe.
uint64_t lsr_ring_overflows(struct lsr_ring *ring);
void lsr_ring_close(struct lsr_ring *ring);
/// Pins the calling thread to one CPU.
int lsr_pin_thread(int cpu);
/// Names the calling thread (at most 15 characters) for top, perf and ps.
int lsr_name_thread(const char *name);
/// MSG_DONTWAIT, which Swift does not see beside libnl's headers.
int lsr_msg_dontwait(void);

/// Creates TUN device `name` (IFF_TUN | IFF_NO_PI: bare IP packets), non-blocking and
/// close-on-exec, and sets it up. Returns the fd and its interface index, or -1 (errno set).
/// The device disappears when the fd closes.
int lsr_tun_open(const char *name, int *ifindex);

/// Octets of heap in use (mallinfo2), for benchmarks.
size_t lsr_heap_in_use(void);

#endif
