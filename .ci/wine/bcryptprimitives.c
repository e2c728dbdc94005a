/*
 * Test-only stand-in for bcryptprimitives.dll, which Wine 8 lacks: Go 1.24
 * and newer Windows binaries call its ProcessPrng for random bytes and
 * stop at start without it. Forwarded to RtlGenRandom (SystemFunction036
 * in advapi32), Wine's system CSPRNG. Installed only into the Wine prefix
 * of the test harness (.ci/wine/exec); never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
