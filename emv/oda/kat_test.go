package oda

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Known-answer tests on public test-card data: certificates and signatures
// issued under the EMVCo-published test CA keys of Visa (A000000003, index
// 92) and Mastercard (A000000004, indexes 05 and F1), as captured from
// public test cards. None of this code produced them.

var visaTestCA92 = CAPublicKey{
	RID: [5]byte{0xA0, 0x00, 0x00, 0x00, 0x03}, Index: 0x92, Exponent: hx("03"),
	Modulus: hx("996AF56F569187D09293C14810450ED8EE3357397B18A2458EFAA92DA3B6DF6514EC060195318FD43BE9B8F0CC669E3F844057CBDDF8BDA191BB64473BC8DC9A730DB8F6B4EDE3924186FFD9B8C7735789C23A36BA0B8AF65372EB57EA5D89E7D14E9C7B6B557460F10885DA16AC923F15AF3758F0F03EBD3C5C2C949CBA306DB44E6A2C076C5F67E281D7EF56785DC4D75945E491F01918800A9E2DC66F60080566CE0DAF8D17EAD46AD8E30A247C9F"),
}

var mastercardTestCA05 = CAPublicKey{
	RID: [5]byte{0xA0, 0x00, 0x00, 0x00, 0x04}, Index: 0x05, Exponent: hx("03"),
	Modulus: hx("B8048ABC30C90D976336543E3FD7091C8FE4800DF820ED55E7E94813ED00555B573FECA3D84AF6131A651D66CFF4284FB13B635EDD0EE40176D8BF04B7FD1C7BACF9AC7327DFAA8AA72D10DB3B8E70B2DDD811CB4196525EA386ACC33C0D9D4575916469C4E4F53E8E1C912CC618CB22DDE7C3568E90022E6BBA770202E4522A2DD623D180E215BD1D1507FE3DC90CA310D27B3EFCCD8F83DE3052CAD1E48938C68D095AAC91B5F37E28BB49EC7ED597"),
}

func TestKATCAChecksum(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  CAPublicKey
		want string
	}{
		{"Visa test 92", visaTestCA92, "429C954A3859CEF91295F663C963E582ED6EB253"},
		{"Mastercard test 05", mastercardTestCA05, "EBFA0D5D06D8CE702DA3EAE890701D45E274C845"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := tc.key.Checksum()
			require.Equal(t, hx(tc.want), sum[:])
			require.NoError(t, tc.key.VerifyChecksum(hx(tc.want)))
			require.ErrorIs(t, tc.key.VerifyChecksum(flip(hx(tc.want), 19)), ErrChecksum)
		})
	}
}

// Visa test card: issuer and ICC certificates under test CA 92, and an
// fDDA (version 01) signature from a GET PROCESSING OPTIONS response.
var visaKAT = struct {
	pan                   string
	issuer, icc           Certificate
	static, sdad, fddaTDD []byte
	issuerModulusHead     []byte
}{
	pan: "4176662220010018",
	issuer: Certificate{
		Data:      hx("8828A01BD14335BBD0607E7700E9F13D7B367CB6AD7440C0C6521B391602B946AD1E527D779D496EF696FC2ABD6EB91C48899AA7CAF73A80A7BE69403E49FB93E530DBC536890D191EEAD9A513003304CAD3970488EF4E98EB3EA9867E1DDA552D38479D3F1379C22C1A61C625E5F2FB5845A7E590494BC0277368A71C1EC97EBE2ACDA6051B22B39BA0FC8F23A8BC9AFE964ECE21AFF0CCFE2CEED7D44ABEF88798DEB97F73920AD65F91FCD8A9E02E"),
		Remainder: hx("95B60A462970C7F18237F59FA5BB675C4185922EC4B13397FD623346AACE0416AAAD33DF"),
		Exponent:  hx("03"),
	},
	icc: Certificate{
		Data:      hx("202B8FB78ADE6393DDAAB41682588CCF67459B2745F0868CD0E14AADEFA8EE535DA681A399850AD200A1002D795659CA739C4387B298CA61D07A4CB70DB2B6D64272180A207D2B913494188EDD3E6E333E089702F56552236FCABE16FA445C0A3FB75A48E7B1200D686F28BA35074FB90CE13535F3102969B9D563E45906EC936AE6DFF8F5B562E315DD97A5A68410216A930B332A495E5C5C2AF919E8987546697A7FA5DFFD907BC68C63FA5E04CE9A"),
		Remainder: hx("8838AE2A3FF6E8006F310E4C1ADD14497F20DC0DD46AD1F1D8B5D91C80358F6B1BB83E24BD1B0C4E3331"),
		Exponent:  hx("03"),
	},
	static:            hx("5A0841766622200100185F2403241231"),
	sdad:              hx("1A2AD9501EAC03C21FB3EF22724599C5C84A37E00249B2B179513E4E8BD0A3D3E51E149AEA08B26F6E4CC99F70C8A5F09A8F7CF6CC6E1C75BD84C8945CE871F46F634095D4513E782A8327BC1775ED8CC2469C056B2438524C55D3BA9594A6E268998359E130982B080E9B473441E1C7B5C3FDD7D84095BCE9B7DB8087C3132A2F7BCDB3B7DC1781A05E9AFD543763180D2D1D2E9E99C3619622268BAF0ACD2C3B81B2DA1AAFBD773E86990B2987B8FC"),
	fddaTDD:           hx("2C975EAC 000000001800 0978 01253996170000"),
	issuerModulusHead: hx("CA174E2F6575C7DB553C2D6B0FA9938E"),
}

func TestKATVisaChainFDDA(t *testing.T) {
	v := visaKAT
	now := time.Date(2024, time.December, 31, 0, 0, 0, 0, time.UTC) // last valid day

	ipk, err := RecoverIssuerPublicKey(visaTestCA92, v.issuer, v.pan, now)
	require.NoError(t, err)
	require.Equal(t, "417666", ipk.IssuerID)
	require.Equal(t, Date{2024, time.December}, ipk.Expiry)
	require.Equal(t, [3]byte{0x03, 0x4A, 0xA7}, ipk.Serial)
	require.Equal(t, 176, ipk.Size())
	require.Equal(t, v.issuerModulusHead, ipk.Modulus[:16])
	require.Equal(t, v.issuer.Remainder, ipk.Modulus[176-36:], "modulus ends with the remainder")
	require.Equal(t, visaTestCA92.ID(), ipk.CA)

	icc, err := RecoverICCPublicKey(ipk.PublicKey, v.icc, v.pan, v.static, now)
	require.NoError(t, err)
	require.Equal(t, 176, icc.Size())
	require.Equal(t, [3]byte{0x00, 0x00, 0x01}, icc.Serial)
	require.Equal(t, v.icc.Remainder, icc.Modulus[176-42:])

	// fDDA version 01: UN || amount || currency || card authentication related data.
	tdd, err := FDDAData(hx("2C975EAC"), hx("000000001800"), hx("0978"), hx("01253996170000"))
	require.NoError(t, err)
	require.Equal(t, v.fddaTDD, tdd)
	d, err := VerifyDDA(icc.PublicKey, v.sdad, tdd)
	require.NoError(t, err)
	require.Equal(t, hx("0002"), d.Number)

	// The same data with one check broken.
	_, err = RecoverIssuerPublicKey(visaTestCA92, v.issuer, v.pan, now.AddDate(0, 0, 1))
	require.ErrorIs(t, err, ErrExpired)
	_, err = RecoverIssuerPublicKey(visaTestCA92, v.issuer, "4176672220010018", now)
	require.ErrorIs(t, err, ErrIssuerID)
	_, err = RecoverICCPublicKey(ipk.PublicKey, v.icc, "4176662220010026", v.static, now)
	require.ErrorIs(t, err, ErrPAN)
	_, err = RecoverICCPublicKey(ipk.PublicKey, v.icc, v.pan, v.static[:len(v.static)-1], now)
	require.ErrorIs(t, err, ErrHash)
	_, err = VerifyDDA(icc.PublicKey, v.sdad, hx("2C975EAD000000001800097801253996170000"))
	require.ErrorIs(t, err, ErrHash)
	_, err = VerifyDDA(icc.PublicKey, v.sdad, hx("2C975EAC")) // version 00 data for a version 01 signature
	require.ErrorIs(t, err, ErrHash)
}

func TestKATMastercardSDA(t *testing.T) {
	// Mastercard test CA F1 (768 bits) with a 640-bit issuer key: shorter
	// than this package creates, but a terminal still verifies them.
	ca := CAPublicKey{
		RID: [5]byte{0xA0, 0x00, 0x00, 0x00, 0x04}, Index: 0xF1, Exponent: hx("03"),
		Modulus: hx("AF0754EAED977043AB6F41D6312AB1E22A6809175BEB28E70D5F99B2DF18CAE73519341BBBD327D0B8BE9D4D0E15F07D36EA3E3A05C892F5B19A3E9D3413B0D97E7AD10A5F5DE8E38860C0AD004B1E06F4040C295ACB457A788551B6127C0B29"),
	}
	cert := Certificate{
		Data:      hx("191AB5AC03365D5E9515C398CCC5C744A728A4FCFDE194D0B88B0FA1673AEBDD8AAADF0EDBBC12414E7107A9F2B02DFB3985167C0EE9CDF3CB78749BF6D0AAE60E4C979F7E2AE635A77451B0E2F2EB136AB02076CBE1E70CC4EE5529434A9EC6"),
		Remainder: hx("CFB8D4885D960967179F982D42CE54ECC2054683"),
		Exponent:  hx("03"),
	}
	ssad := hx("110BB9DF2D21981906B29A301411F9FA60CF494DBABABF54B1797C9C4B5D99B5E67AB73049E771FC5FDC23E58350B781005324D31DC87AD0FBF636733808056D66074632711E7CBF14073796E1B60D4D")
	static := hx("5A0847617390010100105F340101")
	now := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

	ipk, err := RecoverIssuerPublicKey(ca, cert, "4761739001010010", now)
	require.NoError(t, err)
	require.Equal(t, "476173", ipk.IssuerID)
	require.Equal(t, Date{2030, time.December}, ipk.Expiry)
	require.Equal(t, [3]byte{0x00, 0x02, 0x44}, ipk.Serial)
	require.Equal(t, 80, ipk.Size())

	dac, err := VerifyStaticData(ipk.PublicKey, ssad, static)
	require.NoError(t, err)
	require.Equal(t, [2]byte{0xDA, 0xC5}, dac)

	_, err = VerifyStaticData(ipk.PublicKey, ssad, hx("5A0847617390010100105F340102"))
	require.ErrorIs(t, err, ErrHash)
	_, err = VerifyStaticData(ipk.PublicKey, flip(ssad, 10), static)
	require.Error(t, err)
}

// Mastercard test card: chain under test CA 05 and a CDA signature from a
// first GENERATE AC (TC) with no PDOL.
func TestKATMastercardCDA(t *testing.T) {
	pan := "5285881254345653"
	issuer := Certificate{
		Data:      hx("1714284F763B8586EE6D319951F7E63FA25076E50DC9D3200BA998D3A052ADBA9AB69AC6AD6ADD3CE09F0278F4074EC4EE9B1D2268A3E953575E454E50CD860BF424C51C597712D2AA057089DD8673E51B1E1D7188034892077AC18A6AE23488BEA9DF3B1A83F2C0800CD7C5CDF2FDE0496F7BC39FB4BF363299BFA637B2EC33C507E36821EEC2075F0E420D38A1C9F3127261BA316C987674FADB20EA7FEB75EE455D12146EA6F02E8B01EC2FA7A115"),
		Remainder: hx("6E63B7BC70ABDD09341B34C03286BA9BD83BA7936C5B7798FB22C5E53FF240A26DBD6415"),
		Exponent:  hx("03"),
	}
	iccCert := Certificate{
		Data:     hx("A42FBEB156B98DCB0554DA062ADCA5309A91F04FA2C7BD7102A8D73F16A3CFADE8AADF4F3FE2A2125CCDD77C6B9F78B5B4371CE0805725B0F9C027AF147D91E1FFDB201E9C170CE777053A172AD526DCAFD33895E1A947305C5B167F2E7C6F991581A652EE473154760C2ED774214E50DFECDD4CF294C974B89EBCA25B5AB3C0BEB50DFAF782AFDE1433D90CA2A89D651E75D67EBC7C3E36F5A165EE6132612939C1ECD399E46074B996D93A88E01E0A"),
		Exponent: hx("03"),
	}
	// Records for ODA, then the AIP (the SDA Tag List 9F4A names 82).
	static := hx("5F25031405015F24031506305A0852858812543456535F3401018E0C00000000000000001E031F039F0702FF009F0D05BC50BC00009F0E0500000000009F0F05BC70BC98009F4A01825F280206438C219F02069F03069F1A0295055F2A029A039C019F37049F35019F45029F4C089F34038D0C910A8A0295059F37049F4C08" + "3900")
	sdad := hx("1C009FC48679157DBFF45F65D33FF78D4FCBF0CF5EA4208D107AE95AA38C546D0E5A18B87403A12BD447A8BBFC1E49CE0B2E251389205703C9BB1A88CC79F1DDC2F9841EADF07CE07B62511DDC93DF59F28F0E91F92332D29CDEF2BCCB1008850500EF3E470A4CB18CD91AA5C1A108F3")
	cdol1 := hx("000000000000 000000000000 0643 0000000000 0643 140925 50 12345779 23 00000000000000000000 1E0300")
	iad := hx("0010904001220000000000000000000000FF")
	response := append(append(hx("9F2701409F360200109F4B70"), sdad...), append(hx("9F1012"), iad...)...)
	now := time.Date(2015, time.June, 30, 0, 0, 0, 0, time.UTC)

	ipk, err := RecoverIssuerPublicKey(mastercardTestCA05, issuer, pan, now)
	require.NoError(t, err)
	require.Equal(t, "528588", ipk.IssuerID)
	require.Equal(t, Date{2021, time.December}, ipk.Expiry)
	require.Equal(t, [3]byte{0x00, 0x6E, 0xE2}, ipk.Serial)

	icc, err := RecoverICCPublicKey(ipk.PublicKey, iccCert, pan, static, now)
	require.NoError(t, err)
	require.Equal(t, 112, icc.Size(), "896-bit ICC key fits the certificate, padded with BB")
	require.Equal(t, Date{2015, time.June}, icc.Expiry)

	in := CDAInput{UnpredictableNumber: hx("12345779"), CID: 0x40, Transaction: TransactionData{CDOL1: cdol1, Response: response}}
	d, err := VerifyCDA(icc.PublicKey, sdad, in)
	require.NoError(t, err)
	require.Equal(t, hx("4CC2FB1FAFB30915"), d.Number)
	require.Equal(t, byte(0x40), d.CID)
	require.Equal(t, hx("16AFBA13C52FB173"), d.AC)
	require.Equal(t, hx("9D1493E6F70FAAB248A0689BEE7C8DFA10DA423D"), d.TransactionDataHash)

	// The hash code is over CDOL1 data and the response without 9F4B.
	tdhc, err := TransactionData{CDOL1: cdol1, Response: append(hx("9F2701409F360200109F1012"), iad...)}.Hash()
	require.NoError(t, err)
	require.Equal(t, d.TransactionDataHash, tdhc)

	withAC := in
	withAC.AC = hx("16AFBA13C52FB173")
	_, err = VerifyCDA(icc.PublicKey, sdad, withAC)
	require.NoError(t, err)
	withAC.AC = hx("16AFBA13C52FB174")
	_, err = VerifyCDA(icc.PublicKey, sdad, withAC)
	require.ErrorIs(t, err, ErrAC)

	wrongCID := in
	wrongCID.CID = 0x80
	_, err = VerifyCDA(icc.PublicKey, sdad, wrongCID)
	require.ErrorIs(t, err, ErrCID)

	wrongUN := in
	wrongUN.UnpredictableNumber = hx("12345778")
	_, err = VerifyCDA(icc.PublicKey, sdad, wrongUN)
	require.ErrorIs(t, err, ErrHash)

	wrongATC := in
	wrongATC.Transaction.Response = append(append(hx("9F2701409F360200119F4B70"), sdad...), append(hx("9F1012"), iad...)...)
	_, err = VerifyCDA(icc.PublicKey, sdad, wrongATC)
	require.ErrorIs(t, err, ErrTransactionHash)

	withPDOL := in
	withPDOL.Transaction.PDOL = hx("00")
	_, err = VerifyCDA(icc.PublicKey, sdad, withPDOL)
	require.ErrorIs(t, err, ErrTransactionHash)
}
